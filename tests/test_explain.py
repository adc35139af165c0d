"""A figure that explains itself: ``complaints-warehouse explain`` lists the cases behind a published BMMR
figure, and their number is the published value.

One real warehouse for the module, after one ``pipeline.run_all`` (a simulated council through the SQL
adapter, the reference and Ombudsman samples, dbt build, the GX checkpoint, publication of the latest
complete month): a copy of the session's ``simulated_night``. The tests only read it, except the last,
which moves a mart and puts it back.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from complaints_warehouse import cli
from complaints_warehouse.warehouse import database

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[1]
QUIET = {"echo": lambda line: None}


@dataclass
class Built:
    settings: object
    target: object
    month: date

    def sql(self, query: str, params=None) -> list[tuple]:
        with database.connect(self.target) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def built(simulated_night, night_copier, tmp_path_factory) -> Built:
    """The simulated council (one council, 2023/24, seed 7) after one clean ``pipeline.run_all``: the
    session's ``simulated_night``, copied once for the module with its outputs."""
    from complaints_warehouse.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_{uuid.uuid4().hex[:12]}")
        mp.setenv("WAREHOUSE_OUTPUTS_DIR", str(tmp_path_factory.mktemp("outputs")))
        copied = night_copier(simulated_night, load_settings(), mp, tmp_path_factory.mktemp("sources"))
        settings = load_settings()
        with database.connect(copied.target) as conn:
            (month,) = conn.execute("select max(report_month) from published.bmmr_publications").fetchone()
        assert month is not None, "the pipeline published no month"
        yield Built(settings, copied.target, month)


def explain(capsys, month: date, measure: str, *extra: str) -> tuple[int, str]:
    code = cli.main(
        ["explain", "--month", f"{month:%Y-%m}", "--measure", measure, "--limit", "100000", *extra]
    )
    return code, capsys.readouterr().out


def listed_cases(out: str) -> list[list[str]]:
    """The case rows explain printed (tab-separated, after its header line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("case_reference\t")) + 1
    return [line.split("\t") for line in lines[start:] if "\t" in line]


def published_counts(built: Built, period: str = "month") -> dict[str, Decimal]:
    return dict(
        built.sql(
            "select measure, sum(value) from published.bmmr_figures f where report_month = %s and period = %s "
            "and version = (select max(version) from published.bmmr_publications p "
            "where p.report_month = f.report_month) "
            "and right(measure, 4) not in ('_pct', '_gbp') group by measure",
            (built.month, period),
        )
    )


def test_every_published_count_of_the_month_is_the_number_of_its_cases(built, capsys):
    counts = published_counts(built)
    assert len(counts) >= 20 and sum(counts.values()) > 0
    for measure, published in counts.items():
        code, out = explain(capsys, built.month, measure)
        assert code == 0, out
        cases = listed_cases(out)
        assert len(cases) == published, (measure, out)
        assert f"Published figure: {published}" in out and "equals the published figure" in out
    # Year to date too, for one directorate and procedure as a BMMR row has them.
    directorate, procedure = built.sql(
        "select directorate, procedure_code from published.bmmr_figures where report_month = %s "
        "and measure = 'complaints_received' and period = 'financial_year_to_date' order by value desc limit 1",
        (built.month,),
    )[0]
    (value,) = built.sql(
        "select value from published.bmmr_figures where report_month = %s and measure = 'complaints_received' "
        "and period = 'financial_year_to_date' and directorate = %s and procedure_code = %s "
        "order by version desc limit 1",
        (built.month, directorate, procedure),
    )[0]
    code, out = explain(
        capsys,
        built.month,
        "complaints_received",
        "--period",
        "financial_year_to_date",
        "--directorate",
        directorate,
        "--procedure",
        procedure,
    )
    assert code == 0 and len(listed_cases(out)) == value > 0, out


def test_the_views_periods_are_its_months_cases(built):
    """The view's year to date lists exactly its months' cases from April, and its same month last year the
    month a year before's, for every month and figure (the nightly dbt test lists the month itself and the
    same month last year; the checkpoint checks the months; this checks the view's joins of the periods)."""
    rows = "directorate, procedure_code, measure, case_reference, event, event_key, event_month, value"

    def listed(period: str, months: str, *bounds) -> Counter:
        return Counter(
            built.sql(
                f"select {rows} from intermediate.bmmr_figure_cases "  # noqa: S608
                f"where period = '{period}' and report_month {months}",
                bounds,
            )
        )

    months = built.sql(
        "select distinct report_month from intermediate.bmmr_figure_cases where period = 'month' order by 1"
    )
    assert len(months) >= 12
    for (month,) in months:
        start = date(month.year if month.month >= 4 else month.year - 1, 4, 1)
        year_to_date = listed("financial_year_to_date", "= %s", month)
        assert year_to_date == listed("month", "between %s and %s", start, month) and year_to_date, month
        last_year = listed("same_month_last_year", "= %s", month)
        assert last_year == listed("month", "= %s - interval '1 year'", month), month


def test_cases_are_pseudonymous_references_and_the_csv_is_written_beside_the_pack(built, capsys):
    code, out = explain(capsys, built.month, "complaints_received")
    assert code == 0
    path = built.settings.outputs_dir / "reports" / f"bmmr-pack-{built.month:%Y-%m}-cases.csv"
    assert f"CSV (internal, every figure of the month): {path}" in out
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert os.stat(path).st_mode & 0o077 == 0  # internal: readable by its owner only
    assert set(rows[0]) == {
        "report_month",
        "period",
        "directorate",
        "procedure_code",
        "measure",
        "case_reference",
        "event",
        "event_key",
        "event_month",
        "value",
    }
    # The CSV holds every published count of the month, each with as many cases as its published value.
    in_csv = Counter(r["measure"] for r in rows if r["period"] == "month")
    for measure, published in published_counts(built).items():
        assert in_csv[measure] == published, measure
    # Case references are the warehouse's case keys, never a person: no complainant's name or email.
    references = {r["case_reference"] for r in rows}
    known = {k for (k,) in built.sql("select representation_key from marts.fct_representations")}
    assert references and references <= known
    identities = built.sql(
        "select lower(value) from restricted.complainants c cross join lateral jsonb_each_text(to_jsonb(c)) kv "
        "where key ~ '(name|email|phone|address)' and value <> ''"
    )
    text = path.read_text(encoding="utf-8").lower()
    assert not [v for (v,) in identities if len(v) > 3 and v in text]


def test_percentages_and_money_explain_as_their_cases_with_values(built, capsys):
    code, out = explain(capsys, built.month, "stage_1_within_timescale_pct")
    assert code == 0, out
    assert "A percentage: stage_1_within_timescale / stage_1_responded" in out
    assert {row[6] for row in listed_cases(out)} <= {"stage_1_within_timescale", "stage_1_responded"}
    code, out = explain(capsys, built.month, "payments_gbp")
    assert code == 0 and "equals the published figure" in out, out


def test_unknown_measure_or_unpublished_month_is_a_clear_message(built, capsys):
    code = cli.main(["explain", "--month", f"{built.month:%Y-%m}", "--measure", "complaints_recieved"])
    err = capsys.readouterr().err
    assert code == 2 and "'complaints_recieved' is not a published BMMR measure" in err
    assert "complaints_received" in err
    code, out = explain(capsys, date(1999, 1, 1), "complaints_received")
    assert code == 1 and "1999-01 has not been published" in out


def test_the_console_script_explains_without_a_traceback(built):
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("complaints-warehouse")),
            "explain",
            "--month",
            f"{built.month:%Y-%m}",
            "--measure",
            "representations_received",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "equals the published figure" in result.stdout


def test_marts_moved_since_publication_are_named(built, capsys):
    """A late correction: the marts no longer hold the published figure. explain says so, exit 1."""
    measure = max(published_counts(built).items(), key=lambda kv: kv[1])[0]
    (key,) = built.sql(
        f"select bmmr_key from marts.bmmr_monthly where report_month = %s and period = 'month' "
        f"and {measure} > 0 order by bmmr_key limit 1",
        (built.month,),
    )[0]
    built.sql(f"update marts.bmmr_monthly set {measure} = {measure} + 1 where bmmr_key = %s", (key,))
    try:
        code, out = explain(capsys, built.month, measure)
    finally:
        built.sql(f"update marts.bmmr_monthly set {measure} = {measure} - 1 where bmmr_key = %s", (key,))
    assert code == 1, out
    assert "The marts have moved since publication" in out
