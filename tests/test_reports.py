"""The reports people look at: the BMMR pack, the annual report and the Ombudsman benchmark.

One real warehouse for the module: a simulated council loaded through the SQL adapter, the reference
and Ombudsman samples, ``dbt build``, the GX checkpoint and the publication of March 2024, all by
``pipeline.run_all``, which ends by writing the three reports. The tests read the figures back out of
each page's data block and its visible tables and compare them with the published figures and the
marts; then open each page in headless Chromium.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from complaints_warehouse import cli, pipeline
from complaints_warehouse.reports import ReportUnavailable, annual_report, bmmr_pack, ombudsman_benchmark
from complaints_warehouse.reports.formatting import (
    Suppression,
    count,
    financial_year_start,
    gbp,
    pct,
    signed,
    uk_date,
    uk_datetime,
)
from complaints_warehouse.warehouse import database

PROJECT_DIR = Path(__file__).resolve().parents[1]
MONTH = date(2024, 3, 1)
QUIET = {"echo": lambda line: None}


@dataclass
class Demo:
    settings: object
    target: object
    summary: dict

    def sql(self, query: str, params=None) -> list[tuple]:
        with database.connect(self.target) as conn:
            return conn.execute(query, params).fetchall()

    def report(self, name: str) -> Path:
        return Path(self.summary["outputs"]["reports"][name])


def report_data(html: str) -> dict:
    """The figures a page carries in its data block."""
    found = re.search(r"<script type='application/json' id='report-data'>(.*?)</script>", html, re.S)
    assert found, "the page has no report-data block"
    return json.loads(found.group(1))


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The body rows of a table, cell text without markup."""
    table = re.search(rf"<table id='{table_id}'.*?</table>", html, re.S)
    assert table, f"no table {table_id}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", " ", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture(scope="module")
def demo(simulated_night, night_copier, tmp_path_factory) -> Demo:
    """The demo council's warehouse after the whole pipeline (``pipeline.run_all``, which ends by writing
    the reports): the session's ``simulated_night``, copied once for the module with its outputs."""
    from complaints_warehouse.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_{uuid.uuid4().hex[:12]}")
        mp.setenv("WAREHOUSE_OUTPUTS_DIR", str(tmp_path_factory.mktemp("outputs")))
        copied = night_copier(simulated_night, load_settings(), mp, tmp_path_factory.mktemp("sources"))
        yield Demo(load_settings(), copied.target, copied.summary)


# --- UK formatting ---------------------------------------------------------------------------------


def test_numbers_money_and_dates_are_formatted_the_uk_way():
    assert count(1234567) == "1,234,567" and count(Decimal("7")) == "7" and count(None) == "–"
    assert gbp(1234.5) == "£1,235" and gbp(Decimal("9308.85"), pence=True) == "£9,308.85"
    assert gbp(-20) == "-£20" and gbp(0) == "£0"
    assert pct(Decimal("92.04")) == "92.0%" and pct(12.25) == "12.3%" and pct(Decimal("91.5"), 0) == "92%"
    assert pct(None) == "–"  # nothing to divide by is not 0 %
    assert (
        signed(12) == "+12"
        and signed(-3) == "-3"
        and signed(0) == "0"
        and signed(1200, money=True) == "+£1,200"
    )
    assert uk_date(date(2026, 11, 29)) == "29 November 2026" and uk_date(date(2024, 3, 1)) == "1 March 2024"
    from datetime import datetime

    assert uk_datetime(datetime(2026, 11, 29, 14, 5)) == "29 November 2026, 14:05"
    assert financial_year_start("2023/24") == date(2023, 4, 1)
    for wrong in ("2023/25", "2023-24", "23/24", "2023"):
        with pytest.raises(ValueError, match="is not a financial year like 2023/24"):
            financial_year_start(wrong)


def test_the_financial_year_is_named_by_the_one_dbt_macro(embedded_server):
    """The financial year's label is the dbt macro's (the reports no longer name it in Python): run here
    by PostgreSQL, rendered from dbt_project/macros/financial_year.sql."""
    import jinja2
    import psycopg

    macros = (PROJECT_DIR / "dbt_project" / "macros" / "financial_year.sql").read_text()
    module = jinja2.Environment().from_string(macros).make_module()
    with psycopg.connect(embedded_server) as conn:
        for day, expected in (
            ("2024-03-31", "2023/24"),
            ("2024-04-01", "2024/25"),
            ("1999-04-01", "1999/00"),
        ):
            label = module.financial_year(f"date '{day}'")  # constants of this test, not input
            assert conn.execute(f"select {label}").fetchone()[0] == expected, day


def test_suppression_hides_small_counts_and_what_rests_on_them_only_when_public():
    public, internal = Suppression(True, 5), Suppression(False, 5)
    assert [public.count(v) for v in (0, 1, 3, 4, 5, None)] == [0, "<5", "<5", "<5", 5, None]
    assert internal.count(3) == 3 and internal.show_count(3) == "3"
    assert public.derived(Decimal("66.7"), 3) == "<5" and public.derived(Decimal("66.7"), 30) == 66.7
    assert public.show_gbp(450, 2) == "<5" and public.show_pct(Decimal("50.0"), 4) == "<5"
    assert Suppression(True, 10).count(9) == "<10"


def test_secondary_suppression_leaves_no_small_count_to_work_out_from_a_total():
    from complaints_warehouse.reports.formatting import secondary_suppression

    def withhold(values: dict, primary: set) -> set:
        return secondary_suppression(values, primary, [(["a", "b", "c"], "total")], [], 5)

    # One small count beside a total: the next smallest is withheld too.
    assert withhold({"a": 3, "b": 12, "c": 40, "total": 55}, {"a"}) == {"b"}
    # 1 + 5: a reader knowing "<5" >= 1 and the other >= 5 would still work out both, so one more goes.
    assert withhold({"a": 1, "b": 5, "c": 40, "total": 46}, {"a"}) == {"b", "c"}
    # Two ones sum to 2: both pinned; two small counts summing to 5 are not (1+4, 2+3, ...).
    assert withhold({"a": 1, "b": 1, "c": 40, "total": 42}, {"a", "b"}) == {"c"}
    assert withhold({"a": 2, "b": 3, "c": 40, "total": 45}, {"a", "b"}) == set()
    # Zeros disclose nobody and are never withheld: with nothing else to withhold, the total goes.
    assert withhold({"a": 3, "b": 0, "c": 0, "total": 9}, {"a"}) == {"total"}
    # Withholding in one table carries to a figure shown twice and to the tables it is in.
    groups = [(["a", "b"], "t1"), (["b2", "c"], "t2")]
    values = {"a": 2, "b": 7, "t1": 9, "b2": 7, "c": 30, "t2": 37}
    assert secondary_suppression(values, {"a"}, groups, [("b", "b2")], 5) == {"b", "b2", "c"}


def test_the_suppression_threshold_is_a_setting(monkeypatch):
    from complaints_warehouse.settings import SettingsError, load_settings

    assert load_settings().suppression_threshold == 5
    monkeypatch.setenv("WAREHOUSE_SUPPRESSION_THRESHOLD", "10")
    assert load_settings().suppression_threshold == 10
    monkeypatch.setenv("WAREHOUSE_SUPPRESSION_THRESHOLD", "few")
    with pytest.raises(SettingsError, match="WAREHOUSE_SUPPRESSION_THRESHOLD"):
        load_settings()


# --- the BMMR pack -------------------------------------------------------------------------------

slow = pytest.mark.slow


@slow
def test_the_run_writes_the_three_reports_and_lists_them(demo):
    written = demo.summary["outputs"]["reports"]
    assert set(written) == {"BMMR pack", "annual report", "annual report (CSV)", "Ombudsman benchmark"}
    assert all(Path(p).is_file() and Path(p).stat().st_size > 1000 for p in written.values())
    assert Path(written["BMMR pack"]).name == "bmmr-pack-2024-03.html"
    assert Path(written["annual report"]).name == "annual-report-2023-24-all.html"
    listed = pipeline.output_paths(demo.settings)
    assert {name: str(path) for name, path in listed.items() if name in written} == written


@slow
def test_bmmr_pack_shows_the_published_figures(demo):
    html = demo.report("BMMR pack").read_text()
    data = report_data(html)
    [(version, run_id)] = demo.sql(
        "select version, validation_run_id from published.bmmr_publications where report_month = %s", (MONTH,)
    )
    assert data["month"] == "2024-03" and data["publication"]["version"] == version == 1
    assert data["publication"]["validation_run_id"] == run_id == demo.summary["run_id"]
    published = {
        (period, measure): value
        for period, measure, value in demo.sql(
            "select period, measure, sum(value) from published.bmmr_figures where report_month = %s "
            "and version = 1 group by 1, 2",
            (MONTH,),
        )
    }
    for period in ("month", "financial_year_to_date"):
        for measure in (*bmmr_pack.COUNTS, *bmmr_pack.AMOUNTS):
            assert Decimal(str(data["headline"][period][measure])) == published[(period, measure)], (
                period,
                measure,
            )
        responded, within = (
            published[(period, "stage_1_responded")],
            published[(period, "stage_1_within_timescale")],
        )
        assert data["headline"][period]["stage_1_within_timescale_pct"] == float(
            round(100 * within / responded, 1)
        )
    assert published[("month", "complaints_received")] > 0

    # What a reader sees: the tiles and the directorate table carry the same figures, UK-formatted.
    month = data["headline"]["month"]
    tile = re.search(r"<p class='label'>Complaints received</p><p class='value'>([^<]*)</p>", html).group(1)
    assert tile == count(month["complaints_received"])
    remedies = re.search(r"<p class='label'>Financial remedies agreed</p><p class='value'>([^<]*)</p>", html)
    assert remedies.group(1) == gbp(month["financial_remedies_gbp"]) and remedies.group(1).startswith("£")
    by_directorate = dict(
        demo.sql(
            "select directorate, sum(value)::int from published.bmmr_figures where report_month = %s and version = 1 "
            "and period = 'month' and measure = 'complaints_received' group by 1",
            (MONTH,),
        )
    )
    shown = {row[0]: row[1] for row in table_rows(html, "directorate-table")}
    assert shown == {d: count(v) for d, v in by_directorate.items()}
    assert (
        "version 1" in html and run_id in html and "31 March 2024" in html
    )  # footer: version, run, freshness


@slow
def test_bmmr_pack_scorecard_and_trend_agree_with_the_marts(demo):
    data = report_data(demo.report("BMMR pack").read_text())
    scored = {
        (code, period): (float(actual) if actual is not None else None, rag)
        for code, period, actual, rag in demo.sql(
            "select kpi_code, period, actual_pct, rag from marts.kpi_scorecard where report_month = %s",
            (MONTH,),
        )
    }
    assert {(k["kpi_code"], k["period"]): (k["actual_pct"], k["rag"]) for k in data["scorecard"]} == scored
    assert len(scored) == 10

    trend = {p["month"]: p for p in data["trend"]}
    assert list(trend)[0] == "2023-03" and list(trend)[-1] == "2024-03" and len(trend) == 13
    assert trend["2024-03"]["source"] == "published v1" and trend["2023-03"]["source"] == "no data"
    marts = dict(
        demo.sql(
            "select to_char(report_month, 'YYYY-MM'), sum(complaints_received)::int from marts.bmmr_monthly "
            "where period = 'month' and report_month between '2023-04-01' and '2024-02-01' group by 1"
        )
    )
    assert {m: trend[m]["complaints_received"] for m in marts} == marts
    assert {trend[m]["source"] for m in marts} == {"not published"}
    assert data["restatements"] == []


@slow
def test_bmmr_pack_refuses_clearly_when_nothing_is_published(settings, warehouse, monkeypatch, capsys):
    with pytest.raises(ReportUnavailable, match="no BMMR month has been published yet"):
        bmmr_pack.write(settings, warehouse)
    lines: list[str] = []
    assert pipeline.step_reports(settings, warehouse, echo=lines.append) == {}
    assert any("BMMR pack: not written: no BMMR month has been published yet" in line for line in lines)
    assert cli.main(["report", "bmmr"]) == cli.EXIT_FAILED
    assert "Not written: no BMMR month has been published yet" in capsys.readouterr().out


@slow
def test_a_month_not_published_is_refused_naming_the_published_ones(demo):
    with pytest.raises(
        ReportUnavailable, match=r"2024-01 has not been published \(published months: 2024-03\)"
    ):
        bmmr_pack.write(demo.settings, demo.target, month=date(2024, 1, 1))


@slow
def test_public_bmmr_pack_suppresses_a_count_of_three_in_the_page_and_the_data(demo):
    with database.connect(demo.target) as conn:
        figures = bmmr_pack.gather(conn, MONTH)
    row = next(d for d in figures["directorates"] if d["period"] == "month")
    row["complaints_received"] = 3
    html, data = bmmr_pack.render(figures, Suppression(True, 5))
    shown = next(
        d for d in data["directorates"] if d["directorate"] == row["directorate"] and d["period"] == "month"
    )
    assert shown["complaints_received"] == "<5"
    # Secondary suppression: the council total less the directorates still showing leaves at least two
    # unknowns, so the 3 cannot be worked out.
    month_rows = [d for d in data["directorates"] if d["period"] == "month"]
    withheld = [d for d in month_rows if d["complaints_received"] == "[c]"]
    assert len(withheld) == 1 and withheld[0]["directorate"] != row["directorate"]
    assert all(isinstance(d["complaints_received"], int) for d in month_rows if d not in withheld + [shown])
    assert report_data(html) == json.loads(json.dumps(data, default=str))
    line = next(r for r in table_rows(html, "directorate-table") if r[0] == row["directorate"])
    assert line[1] == "&lt;5"
    # Internal: the same figure as it is.
    html, data = bmmr_pack.render(figures, Suppression(False, 5))
    assert next(r for r in table_rows(html, "directorate-table") if r[0] == row["directorate"])[1] == "3"

    # The written public pack: no count from 1 to 4 anywhere in its data block.
    [path] = bmmr_pack.write(demo.settings, demo.target, public=True)
    assert path.name == "bmmr-pack-2024-03-public.html"
    public = report_data(path.read_text())
    assert public["public"] is True and public["suppression_threshold"] == 5
    small = [
        (d["directorate"], k, v)
        for d in public["directorates"]
        for k, v in d.items()
        if k in bmmr_pack.COUNTS and isinstance(v, int | float) and 0 < v < 5
    ]
    assert small == []
    assert any(v == "<5" for d in public["directorates"] for v in d.values())


# --- the annual report ---------------------------------------------------------------------------


@slow
def test_annual_report_tables_and_csv_equal_the_mart(demo):
    html = demo.report("annual report").read_text()
    data = report_data(html)
    assert (data["financial_year"], data["procedure"]) == ("2023/24", "all")
    expected = {
        (section, category): value
        for section, category, value in demo.sql(
            "select section, category, sum(cell_value) from marts.annual_report where financial_year = '2023/24' "
            "group by 1, 2"
        )
    }
    assert {(c["section"], c["category"]): Decimal(str(c["this_year"])) for c in data["cells"]} == expected
    assert {c["section"] for c in data["cells"]} == set(annual_report.SECTIONS)
    rows = list(csv.DictReader(io.StringIO(demo.report("annual report (CSV)").read_text())))
    assert {(r["section"], r["category"]): Decimal(r["value"]) for r in rows} == expected

    complaints = expected[("1 representations received", "complaint")]
    assert ["Complaints", count(complaints)] in table_rows(html, "table-1")
    paid = expected[("9 payments", "GBP paid")]
    assert ["Amount paid", gbp(paid)] in table_rows(html, "table-9")

    [adults_html, adults_csv] = annual_report.write(demo.settings, demo.target, procedure="adults_statutory")
    adults = report_data(adults_html.read_text())
    [(adults_complaints,)] = demo.sql(
        "select cell_value from marts.annual_report where financial_year = '2023/24' and "
        "procedure_code = 'adults_statutory' and section = '1 representations received' and category = 'complaint'"
    )
    assert next(c["this_year"] for c in adults["cells"] if c["category"] == "complaint") == int(
        adults_complaints
    )
    with pytest.raises(ReportUnavailable, match="not a procedure"):
        annual_report.write(demo.settings, demo.target, procedure="housing")
    with pytest.raises(ReportUnavailable, match="no figures for 2019/20"):
        annual_report.write(demo.settings, demo.target, year="2019/20")


@slow
def test_public_annual_report_suppresses_a_count_of_three_in_page_data_and_csv(demo):
    with database.connect(demo.target) as conn:
        figures = annual_report.gather(conn, "2023/24")
    cell = figures["sections"][4]["rows"][0]  # nature of complaints, the first row
    cell["this_year"] = Decimal(3)
    html, data, table = annual_report.render(figures, Suppression(True, 5))
    row = next(c for c in data["cells"] if c["category"] == cell["category"])
    assert row["this_year"] == "<5"
    assert (
        next(r for r in csv.DictReader(io.StringIO(table)) if r["category"] == cell["category"])["value"]
        == "<5"
    )
    assert [cell["label"], "&lt;5"] in table_rows(html, "table-5")
    assert report_data(html)["cells"] == json.loads(json.dumps(data["cells"]))
    written = annual_report.write(demo.settings, demo.target, public=True)
    public_csv = list(csv.DictReader(io.StringIO(written[1].read_text())))
    assert all(r["value"] in ("<5", "[c]") or not 0 < float(r["value"]) < 5 for r in public_csv)

    # One service area of 3: the complaints received (section 1) less the others would give it away,
    # so another service area is withheld too.
    with database.connect(demo.target) as conn:
        figures = annual_report.gather(conn, "2023/24")
    areas = next(s for s in figures["sections"] if s["section"] == "6 complaints by service area")
    assert all(r["this_year"] >= 5 for r in areas["rows"]) and len(areas["rows"]) > 2
    areas["rows"][0]["this_year"] = Decimal(3)
    for r in areas["rows"]:  # a year before, so that the change column could give a figure away too
        r["last_year"], r["change"] = Decimal(10), r["this_year"] - 10
    _, data, _ = annual_report.render(figures, Suppression(True, 5))
    shown = [c for c in data["cells"] if c["section"] == areas["section"]]
    assert [c["this_year"] for c in shown].count("<5") == 1
    assert [c["this_year"] for c in shown].count("[c]") == 1
    withheld = next(c for c in shown if c["this_year"] == "[c]")
    assert withheld["last_year"] == 10 and withheld["change"] == "[c]"
    received = next(
        c for c in data["cells"] if c["section"].startswith("1 ") and c["category"] == "complaint"
    )
    assert isinstance(received["this_year"], int)


# --- the Ombudsman benchmark -----------------------------------------------------------------------


@slow
def test_ombudsman_benchmark_equals_the_marts_with_caveats_beside_their_years(demo):
    html = demo.report("Ombudsman benchmark").read_text()
    data = report_data(html)
    expected = {
        (a, y, m): (float(c) if c is not None else None, float(s) if s is not None else None)
        for a, y, m, c, s in demo.sql(
            "select authority_name, financial_year, measure, council_value, similar_authority_value "
            "from marts.ombudsman_benchmark"
        )
    }
    assert {
        (r["authority_name"], r["financial_year"], r["measure"]): (
            r["council_value"],
            r["similar_authority_value"],
        )
        for r in data["benchmark"]
    } == expected
    statuses = dict(
        demo.sql("select reconciliation_status, count(*) from marts.ombudsman_reconciliation group by 1")
    )
    assert {k: v for k, v in data["reconciliation_counts"].items() if v} == statuses
    # Oxfordshire 2023/24 as the Ombudsman published it, with the 2022/23 process change beside the year.
    oxfordshire = table_rows(html, f"benchmark-table-{data['councils'].index('Oxfordshire County Council')}")
    [year_row] = oxfordshire
    assert year_row[0].startswith("2023/24") and "new investigation process" in year_row[0]
    assert year_row[1].startswith("92%") and "avg 85%" in year_row[1] and "worse" in year_row[1]
    worcestershire = table_rows(
        html, f"benchmark-table-{data['councils'].index('Worcestershire County Council')}"
    )
    assert worcestershire[0][0] == "2021/22"  # no caveat for 2021/22
    assert "new investigation process" in worcestershire[1][0]
    # Internal: the case-by-case differences; public: counts only.
    assert data["reconciliation_differences"]
    [public_path] = ombudsman_benchmark.write(demo.settings, demo.target, public=True)
    public = report_data(public_path.read_text())
    assert "reconciliation_differences" not in public
    assert public["reconciliation_counts"]["only theirs"] == (
        "<5" if 0 < statuses.get("only theirs", 0) < 5 else statuses.get("only theirs", 0)
    )
    [one] = ombudsman_benchmark.write(demo.settings, demo.target, authority="E10000034")
    assert report_data(one.read_text())["councils"] == ["Worcestershire County Council"]


# --- in a browser ----------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (installed by scripts/ensure-chromium, which `make test` runs), via playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/ensure-chromium (as root) or apt-get install chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@slow
@pytest.mark.parametrize(
    ("report", "charts"),
    [("BMMR pack", 5), ("annual report", 9), ("Ombudsman benchmark", 3)],
)
def test_each_report_opens_in_chromium_without_errors_and_draws_its_charts(
    demo, browser, tmp_path, report, charts
):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    path = demo.report(report)
    page.goto(path.as_uri())
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert problems == []
    assert requests == [path.as_uri()]  # self-contained: nothing else fetched
    assert page.locator("svg.chart").count() >= charts
    drawn = page.locator("svg.chart polyline.series, svg.chart rect.bar").count()
    assert drawn >= charts
    assert page.evaluate("JSON.parse(document.getElementById('report-data').textContent).report") in (
        "bmmr_pack",
        "annual_report",
        "ombudsman_benchmark",
    )
    page.close()


# Last in the module: it adds a version 2 to the shared warehouse's publication.
@slow
def test_the_pack_shows_the_latest_version_and_the_restatements_since_the_last_pack(demo):
    [(directorate, procedure, old)] = demo.sql(
        "select directorate, procedure_code, value from published.bmmr_figures where report_month = %s "
        "and version = 1 and period = 'month' and measure = 'complaints_received' order by value desc limit 1",
        (MONTH,),
    )
    # What publish does for a late correction: version 2 with one cell changed, its checksum, its
    # restatement, and its entry in the publication chain (a hand-made version would be refused as tampering).
    from complaints_warehouse import integrity

    with database.connect(demo.target) as conn:
        conn.execute(
            "create temporary table new_figures on commit drop as select directorate, procedure_code, period, "
            "measure, value + case when (directorate, procedure_code, period, measure) = "
            "(%s, %s, 'month', 'complaints_received') then 1 else 0 end as value "
            "from published.bmmr_figures where report_month = %s and version = 1",
            (directorate, procedure, MONTH),
        )
        [(checksum,)] = conn.execute(
            f"select {integrity.FIGURES_CHECKSUM} from new_figures"  # noqa: S608
        ).fetchall()
        conn.execute(
            "insert into published.bmmr_publications (report_month, version, validation_run_id, checksum, "
            "figures_count, published_by) select report_month, 2, validation_run_id, %s, figures_count, 'test' "
            "from published.bmmr_publications where report_month = %s and version = 1",
            (checksum, MONTH),
        )
        conn.execute(
            "insert into published.bmmr_figures select %s, 2, directorate, procedure_code, period, measure, value "
            "from new_figures",
            (MONTH,),
        )
        conn.execute(
            "insert into published.bmmr_restatements (report_month, from_version, to_version, directorate, "
            "procedure_code, period, measure, old_value, new_value, reason) "
            "values (%s, 1, 2, %s, %s, 'month', 'complaints_received', %s, %s, 'late correction')",
            (MONTH, directorate, procedure, old, old + 1),
        )
        conn.execute("select published.chain_publication(%s, 2, false)", (MONTH,))
    [path] = bmmr_pack.write(demo.settings, demo.target)
    html = path.read_text()
    data = report_data(html)
    assert data["publication"]["version"] == 2 and data["publication"]["checksum"] == checksum
    [restated] = data["restatements"]
    assert (restated["directorate"], restated["old_value"], restated["new_value"]) == (
        directorate,
        int(old),
        int(old) + 1,
    )
    [row] = table_rows(html, "restatements")
    assert row[:3] == ["2024-03", "v1 → v2", directorate] and row[6:8] == [count(old), count(old + 1)]
    [(total,)] = demo.sql(
        "select sum(value) from published.bmmr_figures where report_month = %s and version = 2 "
        "and period = 'month' and measure = 'complaints_received'",
        (MONTH,),
    )
    assert data["headline"]["month"]["complaints_received"] == int(total)
