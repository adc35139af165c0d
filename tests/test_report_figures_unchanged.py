"""The reporting marts changed where the reports' figures are computed, not what they are: the sample
night's published BMMR and every figure of its BMMR pack (internal and public) and annual report are
cell for cell those that main (3fb3344, before the rpt_ models) produced, stored in
tests/expected/report_figures_sample_night.json.

To re-record after a deliberate change of a figure: ``RECORD_REPORT_FIGURES=1 pytest
tests/test_report_figures_unchanged.py`` (and say why in the commit).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
from pathlib import Path

import pytest

from complaints_warehouse import database
from complaints_warehouse.reports import annual_report, bmmr_pack
from complaints_warehouse.reports.formatting import Suppression

EXPECTED = Path(__file__).parent / "expected" / "report_figures_sample_night.json"
#: What differs from one run to the next (when, which run, the chain's head), not a figure.
VOLATILE = (
    "published_at",
    "validation_run_id",
    "validation",
    "chain_head",
    "latest_case_system_load",
    "restated_at",
)


def _data(html: str) -> dict:
    found = re.search(r"<script type='application/json' id='report-data'>(.*?)</script>", html, re.S)
    assert found, "the page has no report-data block"
    return json.loads(found.group(1))


def _visible(page: str) -> list[str]:
    """What a reader sees above the footer (tiles, tables, charts' labels, notes), one text per element,
    entities read (two escapings of the same character are the same text)."""
    body = page[page.index("</header>") : page.index("<footer")]
    return [t for t in (html_lib.unescape(x).strip() for x in re.split(r"<[^>]+>", body)) if t]


def _stable(value):
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _figures(night) -> dict:
    with database.connect(night.target) as conn:
        published = [
            [f"{month:%Y-%m}", version, directorate, procedure, period, measure, str(value)]
            for month, version, directorate, procedure, period, measure, value in conn.execute(
                "select report_month, version, directorate, procedure_code, period, measure, trim_scale(value) "
                "from published.bmmr_figures order by 1, 2, 3, 4, 5, 6"
            )
        ]
        pack = bmmr_pack.gather(conn)
        year = annual_report.default_year(conn)
        report = annual_report.gather(conn, year)
    out = {"published_bmmr": published}
    for public in (False, True):
        sup = Suppression(public, 5)
        html, _ = bmmr_pack.render(pack, sup)
        out[f"bmmr_pack{'_public' if public else ''}"] = _stable(_data(html))
        out[f"bmmr_pack{'_public' if public else ''}_page"] = _visible(html)
        html, _, table = annual_report.render(report, sup)
        out[f"annual_report{'_public' if public else ''}"] = _stable(_data(html))
        out[f"annual_report{'_public' if public else ''}_page"] = _visible(html)
        out[f"annual_report{'_public' if public else ''}_csv"] = table
    return json.loads(json.dumps(out, default=str))


@pytest.mark.slow
def test_the_sample_nights_published_bmmr_pack_and_annual_report_figures_are_unchanged(after_sample_night):
    found = _figures(after_sample_night)
    if os.environ.get("RECORD_REPORT_FIGURES"):
        EXPECTED.parent.mkdir(exist_ok=True)
        EXPECTED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    expected = json.loads(EXPECTED.read_text())
    assert found["published_bmmr"] == expected["published_bmmr"]
    for key in sorted(set(expected) - {"published_bmmr"}):
        assert found[key] == expected[key], key
    assert found["bmmr_pack"]["headline"]["month"]["complaints_received"] > 0
