"""The Ombudsman's national annual file dropped into the Ombudsman folder: read as published, every
council-year matched, every published rate reproduced (or flagged with its reason), the similar-authority
averages recomputed from the groups and compared, and the benchmark report for WAREHOUSE_COUNCIL.

The figures are real and cited (tests/ombudsman_national/SOURCES.md): the national file itself could not
be found by the session that wrote this, so the test lays 13 published council-years out as a national
workbook is laid out (a title line, the header, one row per council-year, footnotes; rates as fractions,
"79%" or "79"; "-" for no figure). Nothing is invented: a figure the sources do not give stays empty.
"""

from __future__ import annotations

import csv
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from complaints_warehouse import pipeline, transform, validate
from complaints_warehouse.reports import ombudsman_benchmark
from complaints_warehouse.settings import PROJECT_DIR, load_settings
from complaints_warehouse.warehouse.database import Connection, connect
from ingestion.ombudsman.contract import ANNUAL_STATISTICS
from ingestion.ombudsman.normalise import normalise_file

pytestmark = pytest.mark.slow

ROWS = Path(__file__).parent / "ombudsman_national" / "published_rows.csv"
REFERENCE_DIR = PROJECT_DIR / "ingestion" / "reference" / "data"
SELECT = "+ombudsman_benchmark +ombudsman_similar_authority_averages +ombudsman_reconciliation +dim_authority"
#: How each rate column is written in the workbook: the forms a published sheet uses.
FRACTION = {"Uphold rate (%)"}  # 0.79, general format
PERCENT_FORMAT = {"Average uphold rate (%)"}  # 0.79 formatted 0%
PERCENT_SIGN = {"Satisfactory remedy rate (%)"}  # "6%"


def published() -> tuple[list[str], list[list[str]]]:
    with ROWS.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def national_workbook(path: Path, header: list[str], rows: list[list[str]], *, title: str) -> Path:
    """The rows as a national workbook lays them out; the figures unchanged, only their written form."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Annual review data"
    sheet.append([title])
    sheet.append([])
    sheet.append(header)
    for row in rows:
        cells = []
        for name, value in zip(header, row, strict=True):
            if value == "":
                cells.append("-" if name.endswith("(%)") or "100,000" in name else None)
            elif name in FRACTION or name in PERCENT_FORMAT:
                cells.append(int(value) / 100)
            elif name in PERCENT_SIGN:
                cells.append(f"{value}%")
            elif name in {"Authority", "Authority type", "Year"}:
                cells.append(value)
            else:
                cells.append(Decimal(value) if "." in value else int(value))
        sheet.append([float(c) if isinstance(c, Decimal) else c for c in cells])
        if header[-1] and isinstance(cells[header.index("Average uphold rate (%)")], float):
            sheet.cell(
                row=sheet.max_row, column=header.index("Average uphold rate (%)") + 1
            ).number_format = "0%"
    sheet.append([])
    sheet.append(
        ["Source: Local Government and Social Care Ombudsman, annual review letters (see SOURCES.md)."]
    )
    sheet.append(
        ["- no figure published; rates are whole percentages, per 100,000 residents to one decimal."]
    )
    workbook.save(path)
    return path


def group_members(authority_type: str, financial_year_start: int) -> set[str]:
    """Every authority of the type that existed the whole financial year, from the bundled reference."""
    start, end = date(financial_year_start, 4, 1), date(financial_year_start + 1, 3, 31)
    with (REFERENCE_DIR / "authorities.csv").open(newline="") as handle:
        return {
            r["authority_name"]
            for r in csv.DictReader(handle)
            if r["authority_type"] == authority_type
            and (not r["valid_from"] or date.fromisoformat(r["valid_from"]) <= start)
            and (not r["valid_to"] or date.fromisoformat(r["valid_to"]) >= end)
        }


@dataclass
class National:
    target: Connection
    loaded: dict
    folder: Path

    def sql(self, query: str, params=None):
        with connect(self.target) as conn:
            return conn.execute(query, params).fetchall()


def _build(settings, target) -> None:
    result = transform.run_dbt(
        settings,
        target,
        ["build", "--select", SELECT, "--indirect-selection", "cautious"],
        echo=lambda line: None,
    )
    assert result.success, result.failures


@pytest.fixture(scope="module")
def national(embedded_server, tmp_path_factory) -> National:
    """One warehouse for the module: the bundled reference data and the national file, loaded by the
    pipeline's load step from the Ombudsman folder, and the Ombudsman models built once."""
    folder = tmp_path_factory.mktemp("ombudsman")
    header, rows = published()
    national_workbook(folder / "annual_statistics.xlsx", header, rows, title="Council performance data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_{uuid.uuid4().hex[:12]}")
        mp.setenv("OMBUDSMAN_DATA_DIR", str(folder))
        settings = load_settings()
        target = pipeline.prepare(settings)
        pipeline.step_load(settings, target, "reference", echo=lambda line: None)
        loaded = {
            r["table"]: r for r in pipeline.step_load(settings, target, "ombudsman", echo=lambda line: None)
        }
        _build(settings, target)
        yield National(target, loaded, folder)


def test_the_national_layout_is_read_as_published_without_a_year_column(tmp_path):
    """A one-year national sheet: the year only in its title, a footnote under the councils, rates as
    fractions; nothing refused, nothing guessed (the loader says what it read around the table)."""
    header, rows = published()
    year = [r for r in rows if r[2] == "2023-24"]
    keep = [i for i, name in enumerate(header) if name != "Year"]
    national_workbook(
        tmp_path / "annual_statistics.xlsx",
        [header[i] for i in keep],
        [[r[i] for i in keep] for r in year],
        title="Annual review data 2023-24",
    )
    out = normalise_file(tmp_path / "annual_statistics.xlsx", ANNUAL_STATISTICS, tmp_path / "out")
    with out.open(newline="") as handle:
        read = list(csv.DictReader(handle))
    assert len(read) == len(year)  # the title, the blank line and the footnotes are not councils
    bucks = next(r for r in read if r["authority_name"] == "Buckinghamshire Council")
    assert (
        bucks["financial_year"],
        bucks["uphold_rate_pct"],
        bucks["similar_authority_uphold_rate_pct"],
    ) == (
        "2023/24",
        "79",
        "79",
    )
    assert (bucks["satisfactory_remedy_rate_pct"], bucks["upheld_per_100k"]) == ("6", "5.5")
    warwickshire = next(r for r in read if r["authority_name"] == "Warwickshire County Council")
    assert (warwickshire["uphold_rate_pct"], warwickshire["detailed_investigations"]) == ("67", "")  # "-"


def test_every_council_year_is_matched_to_an_authority_and_nothing_is_quarantined(national):
    _, rows = published()
    statistics = national.loaded["annual_statistics"]
    assert (statistics["rows_loaded"], statistics["rows_quarantined"]) == (len(rows), 0)
    assert national.sql("select count(*) from audit.quarantine") == [(0,)]
    facts = national.sql(
        "select published_authority_name, ons_code from marts.fct_ombudsman_annual_statistics"
    )
    assert len(facts) == len(rows) and all(code for _, code in facts)
    # Four of the Ombudsman's five groups, four years.
    assert national.sql(
        "select count(distinct similar_authority_group), count(distinct financial_year) "
        "from marts.fct_ombudsman_annual_statistics"
    ) == [(4, 4)]


def test_every_published_rate_equals_its_recomputation_as_rounded_or_is_flagged_with_its_reason(national):
    facts = national.sql(
        "select authority_year_key, has_rate_mismatch, upheld_per_100k_check, population, "
        "published_uphold_rate_pct, recomputed_uphold_rate_pct, published_satisfactory_remedy_rate_pct, "
        "recomputed_satisfactory_remedy_rate_pct from marts.fct_ombudsman_annual_statistics"
    )
    assert not any(mismatch for _, mismatch, *_ in facts)
    for key, _, check, population, *rates in facts:
        # Per 100,000: reproduced, or flagged because the ONS estimate the rule picks is not loaded.
        assert check in {"matches", "not published", "no population"}, key
        assert (check == "no population") == (population is None), key
        for published_rate, recomputed in (rates[0:2], rates[2:4]):
            assert published_rate is None or recomputed is None or published_rate == recomputed, key
    by_key = {k: rest for k, *rest in facts}
    # Fractions (0.79), "79%", 0.79 formatted as a percentage and "79" all read as the published 79.
    assert by_key["E06000060 2023/24"][1:] == ["matches", 560409, 79, 79, 6, 6]
    assert by_key["E10000025 2023/24"][1:] == ["matches", 738276, 92, 92, 9, 9]
    assert by_key["E10000034 2021/22"][3:] == [63, 63, 17, 17]
    # The benchmark carries the same flag beside the figure.
    assert national.sql(
        "select recomputation from marts.ombudsman_benchmark "
        "where benchmark_key = 'E06000060 2023/24|upheld_per_100k'"
    ) == [("matches",)]


def test_each_similar_authority_group_is_named_and_a_partial_file_is_not_a_mismatch(national):
    averages = {
        key: rest
        for key, *rest in national.sql(
            "select average_key, councils_in_group, councils_in_statistics, councils, published_average, "
            "recomputed_average, recomputation from marts.ombudsman_similar_authority_averages"
        )
    }
    unitaries = group_members("Unitary", 2023)
    assert averages["Unitary 2023/24|uphold_rate_pct"] == [
        len(unitaries),
        2,
        "Buckinghamshire Council; Cornwall Council",
        79,
        79,  # Buckinghamshire's counts only (Cornwall's were not published): not a national average
        "group incomplete",
    ]
    assert averages["County 2023/24|upheld_per_100k"][0:2] == [len(group_members("County", 2023)), 2]
    assert averages["County 2023/24|upheld_per_100k"][5] == "group incomplete"
    assert averages["Metropolitan Borough 2023/24|compliance_rate_pct"][5] == "not published"
    # No flag where the statistics hold only part of a group: the suite's check has no row.
    assert not national.sql(
        "select 1 from marts.ombudsman_similar_authority_averages "
        "where recomputation in ('differs', 'no population', 'published values disagree')"
    )
    assert national.sql(
        "select similar_authority_recomputation, similar_authority_councils from marts.ombudsman_benchmark "
        "where benchmark_key = 'E06000060 2023/24|uphold_rate_pct'"
    ) == [("group incomplete", len(unitaries))]


def test_the_benchmark_report_shows_the_council_chosen_with_warehouse_council(
    national, monkeypatch, tmp_path
):
    monkeypatch.setenv("WAREHOUSE_COUNCIL", "Buckinghamshire")
    monkeypatch.setenv("WAREHOUSE_OUTPUTS_DIR", str(tmp_path))
    [path] = ombudsman_benchmark.write(load_settings(), national.target)
    html = path.read_text()
    assert path.name == "ombudsman-benchmark-buckinghamshire-council.html"
    assert "Ombudsman benchmark: Buckinghamshire Council" in html
    assert "Warwickshire" not in html.split("<script", 1)[0]  # one council, not every authority held
    # Which authorities form the group, year by year, and the published average beside its recomputation.
    assert "similar-authorities-0" in html
    assert f"Unitary: 2 of {len(group_members('Unitary', 2023))} in the statistics" in html
    assert "the statistics hold only part of the group" in html
    assert "Not in the statistics:</em>" in html and "Wiltshire Council" in html
    # 2024/25's per 100,000 needs the mid-2023 estimate: flagged on the report unless it is loaded.
    population = national.sql(
        "select population from marts.fct_ombudsman_annual_statistics where authority_year_key = 'E06000060 2024/25'"
    )[0][0]
    # The council's own flag, not a group average's ("a council of the group has no population") nor the
    # legend's list of what each status means ("no population: ...").
    own_flags = re.sub(r"no population: [^;<]*|has no (ONS )?population", "", html)
    assert ("no population" in own_flags) == (population is None)


def test_a_published_average_its_group_does_not_reproduce_is_flagged_and_fails_only_the_ombudsman_suite(
    tmp_path, settings, warehouse, sql, monkeypatch
):
    """Groups the statistics hold whole: a reference in which each group of these councils is the council
    alone (the bundled reference, filtered to them). Buckinghamshire's own 2023/24 uphold rate (31 of 39)
    is its group's average 79 as published: matches; its 5.5 per 100,000 is not the published 4.6: a flag
    on the averages, the benchmark and the report, and a failure of the Ombudsman's own suite only."""
    keep = {"E06000060", "E10000025"}  # Buckinghamshire (Unitary), Oxfordshire (County)
    reference = tmp_path / "reference"
    reference.mkdir()
    for name in ("authorities.csv", "authority_names.csv", "population.csv"):
        with (REFERENCE_DIR / name).open(newline="") as src, (reference / name).open("w", newline="") as out:
            rows = list(csv.DictReader(src))
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(r for r in rows if r["ons_code"] in keep)
    header, rows = published()
    ombudsman = tmp_path / "ombudsman"
    ombudsman.mkdir()
    national_workbook(
        ombudsman / "annual_statistics.xlsx",
        header,
        [
            r
            for r in rows
            if r[0] in {"Buckinghamshire Council", "Oxfordshire County Council"} and r[2] == "2023-24"
        ],
        title="Council performance data",
    )
    monkeypatch.setenv("REFERENCE_DATA_DIR", str(reference))
    monkeypatch.setenv("OMBUDSMAN_DATA_DIR", str(ombudsman))
    settings = load_settings()
    pipeline.step_load(settings, warehouse, "reference", echo=lambda line: None)
    [statistics] = pipeline.step_load(settings, warehouse, "ombudsman", echo=lambda line: None)
    assert (statistics["rows_loaded"], statistics["rows_quarantined"]) == (2, 0)
    _build(settings, warehouse)

    assert set(
        sql(
            "select average_key, councils_in_group, published_average, recomputed_average, recomputation "
            "from marts.ombudsman_similar_authority_averages where measure <> 'compliance_rate_pct'"
        )
    ) == {
        ("County 2023/24|satisfactory_remedy_rate_pct", 1, None, Decimal("9"), "not published"),
        ("County 2023/24|uphold_rate_pct", 1, Decimal("85"), Decimal("92"), "differs"),
        ("County 2023/24|upheld_per_100k", 1, Decimal("4.5"), Decimal("4.6"), "differs"),
        ("Unitary 2023/24|satisfactory_remedy_rate_pct", 1, None, Decimal("6"), "not published"),
        ("Unitary 2023/24|uphold_rate_pct", 1, Decimal("79"), Decimal("79"), "matches"),
        ("Unitary 2023/24|upheld_per_100k", 1, Decimal("4.6"), Decimal("5.5"), "differs"),
    }
    assert set(
        sql(
            "select measure, similar_authority_recomputation from marts.ombudsman_benchmark "
            "where ons_code = 'E06000060' and measure in ('uphold_rate_pct', 'upheld_per_100k')"
        )
    ) == {("uphold_rate_pct", "matches"), ("upheld_per_100k", "differs")}

    # The Ombudsman's own suite fails on it, and that suite gates the Ombudsman benchmark only.
    with pytest.raises(validate.ValidationFailed) as failed:
        pipeline.step_validate(
            settings, warehouse, "national-averages", checkpoint="ombudsman", echo=lambda line: None
        )
    failures = failed.value.summary.failed
    assert {f["suite"] for f in failures} <= validate.OMBUDSMAN_SUITES
    assert any("similar-authority average" in f["expectation"] for f in failures)
    assert "Unitary 2023/24|upheld_per_100k" in str(failed.value)

    monkeypatch.setenv("WAREHOUSE_COUNCIL", "E06000060")
    monkeypatch.setenv("WAREHOUSE_OUTPUTS_DIR", str(tmp_path / "outputs"))
    [path] = ombudsman_benchmark.write(load_settings(), warehouse)
    assert "average differs from its recomputation" in path.read_text()
