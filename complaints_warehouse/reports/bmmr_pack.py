"""The monthly BMMR pack: what governance leads sign off, drawn from the *published* figures only.

For a published month (default: the latest), from its latest version in ``published.bmmr_figures``:
headline tiles (month, year to date, same month last year), 13-month trends with the year before
beside them, a directorate breakdown, the KPI scorecard (seed ``kpi_targets``, with
``marts.kpi_scorecard``'s RAG rule applied to the published figures), the restatements since the last
pack, and a footer naming the validation run, the version and how fresh the data is.

Every figure comes from the reporting models (``SOURCES``, dbt_project/models/reporting/complaints):
sums, year to date, rates (recomputed from summed counts, never averaged) and RAG ratings are computed
there once; this module selects, suppresses and renders (templates/bmmr_pack.html.j2). A trend month
that was never published (e.g. the months before the warehouse began publishing) is taken from
``marts.rpt_bmmr_provisional_months`` (today's ``bmmr_monthly``), drawn with open markers and labelled
"not published" in the table and the data block; every other figure on the page is published.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from complaints_warehouse import integrity
from complaints_warehouse.bmmr_measures import AMOUNTS, COUNTS, MEASURES, OUTCOMES, RATES
from complaints_warehouse.outputs import write_atomic
from complaints_warehouse.reports import ReportUnavailable, add_months, charts, page, reports_dir, rows
from complaints_warehouse.reports.formatting import (
    Suppression,
    count,
    month_label,
    pct,
    plain,
    secondary_suppression,
    short_month,
    show,
    uk_date,
    uk_datetime,
)
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.database import Connection

STAGES = (0, 1, 2, 3)
#: Every figure of a reporting row (the rpt_ models' figure columns), in their order.
FIGURES = (*COUNTS, *AMOUNTS, "outcomes_recorded", *RATES)
RAG_SYMBOL = {"green": "● Met", "amber": "▲ Near", "red": "■ Missed", "no data": "No data"}
#: The reporting models the pack selects from (dbt_project/models/reporting/complaints).
SOURCES = (
    "marts.rpt_bmmr_pack_figures",
    "marts.rpt_bmmr_pack_scorecard",
    "marts.rpt_bmmr_provisional_months",
)


def publicise(record: dict, sup: Suppression, withheld: frozenset[str] = frozenset()) -> dict:
    """A record's figures as the page and data block show them: small counts, and the rates and amounts
    resting on them, suppressed when public; the counts in ``withheld`` (secondary suppression) and
    what rests on them withheld; other fields as they are."""

    def label(*counts: str) -> str | None:
        if any(sup.hides(record.get(c)) for c in counts):
            return sup.label
        return sup.withheld if withheld.intersection(counts) else None

    out = {}
    for key, value in record.items():
        if key in MEASURES:
            hidden = label(key)
        elif key in AMOUNTS:
            hidden = label(AMOUNTS[key])
        elif key in RATES:  # a rate of a small count, or of a small base, would give the count away
            hidden = label(*RATES[key])
        else:
            out[key] = plain(value) if isinstance(value, Decimal | int | float) else value
            continue
        out[key] = hidden or plain(value)
    return out


def withheld_cells(figures: dict, sup: Suppression) -> dict[tuple, frozenset[str]]:
    """{record key: counts withheld by secondary suppression} for a public pack (nothing internally).

    The pack shows three additive tables: the directorates sum to the council, a record's outcomes sum
    to its outcomes recorded, and this financial year's months sum to the year to date; and the headline
    month is the trend's last point. Without this, one small directorate count would be the council total
    less the others."""
    if not sup.public:
        return {}
    records = {record_key(r): r for r in _records(figures)}
    values = {(k, m): r.get(m) for k, r in records.items() for m in MEASURES}
    primary = {cell for cell, value in values.items() if sup.hides(value)}
    groups = []
    for period in figures["periods"]:
        members = [k for k in records if k[0] == "directorate" and k[2] == period]
        groups += [([(k, m) for k in members], (("council", period), m)) for m in MEASURES]
    groups += [([(k, o) for o in OUTCOMES], (k, "outcomes_recorded")) for k in records]
    year_start = figures["financial_year_start_month"]
    year_months = [("month", p["month"]) for p in figures["trend"] if p["month"] >= f"{year_start:%Y-%m}"]
    month = figures["month"]
    ytd = ("council", "financial_year_to_date")
    groups += [([(k, m) for k in year_months], (ytd, m)) for m in MEASURES]
    same = [((("council", "month"), m), (("month", f"{month:%Y-%m}"), m)) for m in MEASURES]
    plan: dict[tuple, set[str]] = defaultdict(set)
    for key, measure in secondary_suppression(values, primary, groups, same, sup.threshold):
        plan[key].add(measure)
    return {key: frozenset(measures) for key, measures in plan.items()}


def record_key(record: dict) -> tuple:
    """A record of the pack by what it is: a directorate's period, the council's period, or a month."""
    if "directorate" in record:
        return ("directorate", record["directorate"], record["period"])
    if "month" in record:
        return ("month", record["month"])
    return ("council", record["period"])


def _records(figures: dict) -> list[dict]:
    headline = [{**r, "period": p} for p, r in figures["periods"].items()]
    return [*headline, *figures["directorates"], *figures["trend"], *figures["trend_last_year"]]


# --- gathering ------------------------------------------------------------------------------------


def _publication(conn, month: date | None) -> dict:
    published = rows(
        conn,
        "select distinct on (report_month) report_month, version, validation_run_id, checksum, figures_count, "
        "published_by, published_at from published.bmmr_publications order by report_month desc, version desc",
    )
    if not published:
        raise ReportUnavailable(
            "no BMMR month has been published yet: the pack shows published figures only. Run the pipeline "
            "(`complaints-warehouse run`), or validate and publish with `complaints-warehouse publish`."
        )
    if month is None:
        return published[0]
    for p in published:
        if p["report_month"] == month:
            return p
    months = ", ".join(f"{p['report_month']:%Y-%m}" for p in published[:12])
    raise ReportUnavailable(
        f"{month:%Y-%m} has not been published (published months: {months}). Publish it with "
        f"`complaints-warehouse publish --month {month:%Y-%m}`."
    )


def _figures(record: dict) -> dict:
    """A reporting row's figures (the row's other columns say what it is about)."""
    return {m: record[m] for m in FIGURES}


def _refuse_unless_published(conn, publication: dict, council: dict) -> None:
    """The reporting views are the warehouse's, not the publication's: their council figures must be the
    sums of the frozen cells in ``published.bmmr_figures`` (which the hash chain protects), or the pack
    refuses rather than show figures nobody signed off."""
    frozen = {
        (period, measure): total
        for period, measure, total in conn.execute(
            "select period, measure, sum(value) from published.bmmr_figures "
            "where report_month = %s and version = %s and measure = any(%s) group by 1, 2",
            (publication["report_month"], publication["version"], [*COUNTS, *AMOUNTS]),
        ).fetchall()
    }
    differ = [
        f"{period} {measure}: reporting view {council[period][measure]}, published {frozen.get((period, measure))}"
        for period in ("month", "financial_year_to_date")
        if period in council
        for measure in (*COUNTS, *AMOUNTS)
        if (council[period][measure] or 0) != (frozen.get((period, measure)) or 0)
    ]
    if differ:
        raise ReportUnavailable(
            f"The BMMR pack: marts.rpt_bmmr_pack_figures does not add up to the published figures of "
            f"{publication['report_month']:%Y-%m} version {publication['version']} ({'; '.join(differ[:5])}): "
            "the reporting view was changed outside dbt. Rebuild it (`complaints-warehouse transform`)."
        )


def gather(conn, month: date | None = None) -> dict:
    """Every figure of the pack for ``month`` (default: the latest published month), unsuppressed, as the
    reporting models (``SOURCES``) hold them: the pack computes none. Refuses
    (``integrity.TamperingDetected``) when any published figure or publication was changed or removed
    outside ``publish``: the pack never shows figures that are not what was signed off."""
    integrity.refuse_if_tampered(conn, "The BMMR pack")
    publication = _publication(conn, month)
    missing = [s for s in SOURCES if conn.execute("select to_regclass(%s)", (s,)).fetchone()[0] is None]
    if missing:
        raise ReportUnavailable(
            f"{', '.join(missing)} not built yet: build the warehouse (`complaints-warehouse run`, or "
            "`complaints-warehouse transform`) before writing the BMMR pack."
        )
    month = publication["report_month"]
    published = rows(
        conn,
        "select * from marts.rpt_bmmr_pack_figures where report_month = %s and version = %s",
        (month, publication["version"]),
    )
    council = {r["period"]: r for r in published if r["scope"] == "council"}
    if not council:
        raise ReportUnavailable(f"marts.rpt_bmmr_pack_figures has no figures for {month:%Y-%m}: rebuild it.")
    _refuse_unless_published(conn, publication, council)

    window = [add_months(month, k) for k in range(-12, 1)]
    last_year_window = [add_months(m, -12) for m in window]
    # A month's latest published version where there is one, else today's warehouse ("not published").
    trend: dict[date, dict] = {
        r["report_month"]: {"source": "not published", **_figures(r)}
        for r in rows(
            conn,
            "select * from marts.rpt_bmmr_provisional_months where report_month = any(%s)",
            (window + last_year_window,),
        )
    }
    trend |= {
        r["report_month"]: {"source": f"published v{r['version']}", **_figures(r)}
        for r in rows(
            conn,
            "select * from marts.rpt_bmmr_pack_figures where scope = 'council' and period = 'month' "
            "and report_month = any(%s)",
            (window + last_year_window,),
        )
    }

    def trend_point(m: date) -> dict:
        return {"month": f"{m:%Y-%m}", **trend.get(m, {"source": "no data"})}

    scorecard = rows(
        conn,
        "select kpi_code, kpi_name, period, numerator, denominator, numerator_measure, denominator_measure, "
        "actual_pct, target_pct, higher_is_better, rag from marts.rpt_bmmr_pack_scorecard "
        "where report_month = %s and version = %s order by kpi_code, period <> 'month'",
        (month, publication["version"]),
    )
    periods = {p: _figures(council[p]) for p in ("month", "financial_year_to_date")}

    previous = conn.execute(
        "select min(published_at) from published.bmmr_publications where report_month = "
        "(select max(report_month) from published.bmmr_publications where report_month < %s)",
        (month,),
    ).fetchone()[0]
    restated = rows(
        conn,
        "select to_char(r.report_month, 'YYYY-MM') as month, r.from_version, r.to_version, r.directorate, "
        "r.procedure_code, r.period, r.measure, r.old_value, r.new_value, r.reason, r.restated_at "
        "from published.bmmr_restatements r join published.bmmr_publications p "
        "on p.report_month = r.report_month and p.version = r.to_version "
        "where (%(since)s::timestamptz is null or r.restated_at > %(since)s) and p.published_at <= %(until)s "
        "order by r.restated_at, r.report_month, r.directorate, r.procedure_code, r.period, r.measure",
        {"since": previous, "until": publication["published_at"]},
    )
    validation = conn.execute(
        "select count(*), count(*) filter (where success), max(validated_at) "
        "from audit.validation_results where run_id = %s",
        (publication["validation_run_id"],),
    ).fetchone()
    freshness = conn.execute(
        "select (select max(received_date) from marts.fct_representations), "
        "(select max(finished_at) from audit.load_batches where status in ('loaded', 'skipped') "
        "and source like 'case_system%%')"
    ).fetchone()
    return {
        "month": month,
        "publication": publication,
        "periods": periods,
        "same_month_last_year": trend_point(add_months(month, -12)),
        "trend": [trend_point(m) for m in window],
        "trend_last_year": [trend_point(m) for m in last_year_window],
        "financial_year_start_month": council["month"]["financial_year_start_month"],
        "directorates": [
            {"directorate": r["directorate"], "period": r["period"], **_figures(r)}
            for r in sorted(
                (r for r in published if r["scope"] == "directorate"),
                key=lambda r: (r["directorate"], r["period"]),
            )
        ],
        "targets": [
            {"numerator": k["numerator_measure"], "target_pct": k["target_pct"]}
            for k in scorecard
            if k["period"] == "month"
        ],
        "scorecard": scorecard,
        "restatements": restated,
        "since_last_pack": previous,
        "validation": {"evaluated": validation[0], "passed": validation[1], "validated_at": validation[2]},
        "known_issues": rows(
            conn,
            "select issue_id, expectation, rows, failing_rows, reason, signed_off_by, expires_on "
            "from published.known_issues_honoured where report_month = %s and version = %s order by issue_id",
            (month, publication["version"]),
        ),
        "chain_head": integrity.chain_head(conn),
        "freshness": {"latest_case_received": freshness[0], "latest_case_system_load": freshness[1]},
    }


# --- rendering ------------------------------------------------------------------------------------


def data_block(figures: dict, sup: Suppression) -> dict:
    """The pack's figures as its JSON data block carries them (suppressed when public)."""
    pub = figures["publication"]
    withheld, none = withheld_cells(figures, sup), frozenset()

    def of(record: dict) -> frozenset[str]:
        return withheld.get(record_key(record), none)

    return {
        "report": "bmmr_pack",
        "month": f"{figures['month']:%Y-%m}",
        "public": sup.public,
        "suppression_threshold": sup.threshold if sup.public else None,
        "publication": {
            "version": pub["version"],
            "published_at": pub["published_at"].isoformat(),
            "published_by": pub["published_by"],
            "validation_run_id": pub["validation_run_id"],
            "checksum": pub["checksum"],
        },
        "headline": {
            p: publicise(v, sup, withheld.get(("council", p), none)) for p, v in figures["periods"].items()
        },
        "same_month_last_year": publicise(
            figures["same_month_last_year"], sup, of(figures["same_month_last_year"])
        ),
        "trend": [publicise(p, sup, of(p)) for p in figures["trend"]],
        "trend_last_year": [publicise(p, sup, of(p)) for p in figures["trend_last_year"]],
        "directorates": [publicise(d, sup, of(d)) for d in figures["directorates"]],
        "scorecard": [
            _public_kpi(k, sup, withheld.get(("council", k["period"]), none)) for k in figures["scorecard"]
        ],
        "restatements": [
            {
                **{k: v for k, v in r.items() if k not in ("old_value", "new_value", "restated_at")},
                "old_value": _restated_value(r, "old_value", sup),
                "new_value": _restated_value(r, "new_value", sup),
                "restated_at": r["restated_at"].isoformat(),
            }
            for r in figures["restatements"]
        ],
        "validation": {**figures["validation"], "run_id": pub["validation_run_id"]},
        "known_issues": [
            {
                "issue": k["issue_id"],
                "expectation": k["expectation"],
                "failing_rows": len(k["failing_rows"]),
                "reason": k["reason"],
                "signed_off_by": k["signed_off_by"],
                "expires_on": k["expires_on"].isoformat(),
            }
            for k in figures["known_issues"]
        ],
        "chain_head": figures["chain_head"][1] if figures["chain_head"] else None,
        "freshness": figures["freshness"],
    }


def _restated_value(r: dict, key: str, sup: Suppression):
    """A restated cell: a count is suppressed like any other; an amount or rate of one directorate and
    procedure rests on a count the row does not carry, so a public pack leaves it out."""
    if r["measure"] in COUNTS:
        return sup.count(r[key])
    return "suppressed" if sup.public else plain(r[key])


def _public_kpi(k: dict, sup: Suppression, withheld: frozenset[str]) -> dict:
    def count(part: str):
        return (
            sup.withheld
            if k[f"{part}_measure"] in withheld and not sup.hides(k[part])
            else sup.count(k[part])
        )

    numerator, denominator = count("numerator"), count("denominator")
    hidden = isinstance(numerator, str) or isinstance(denominator, str)
    small = sup.hides(k["numerator"]) or sup.hides(k["denominator"])
    return {
        **{key: plain(v) if isinstance(v, Decimal) else v for key, v in k.items()},
        "numerator": numerator,
        "denominator": denominator,
        "actual_pct": (sup.label if small else sup.withheld) if hidden else plain(k["actual_pct"]),
        "rag": "suppressed" if hidden else k["rag"],
    }


def _num(value) -> float | None:
    """A figure for a chart: suppressed or missing figures are not drawn."""
    return None if value is None or isinstance(value, str) else float(value)


def _tiles(data: dict) -> list[page.Tile]:
    month, ytd, last = (
        data["headline"]["month"],
        data["headline"]["financial_year_to_date"],
        data["same_month_last_year"],
    )
    last_label = short_month(date.fromisoformat(last["month"] + "-01"))

    def sub(key: str, kind: str) -> str:
        before = show(last.get(key), kind) if last.get("source") != "no data" else "–"
        return f"Year to date {show(ytd.get(key), kind)} · {last_label}: {before}"

    items = [
        page.Tile(
            "Complaints received",
            show(month["complaints_received"], "count"),
            sub("complaints_received", "count"),
        ),
        page.Tile(
            "Complaints closed", show(month["complaints_closed"], "count"), sub("complaints_closed", "count")
        ),
        *(
            page.Tile(
                f"Stage {s} responses within timescale",
                show(month[f"stage_{s}_within_timescale_pct"], "pct"),
                f"{show(month[f'stage_{s}_within_timescale'], 'count')} of {show(month[f'stage_{s}_responded'], 'count')}"
                f" · YTD {show(ytd[f'stage_{s}_within_timescale_pct'], 'pct')}",
            )
            for s in STAGES
        ),
        page.Tile(
            "Escalation rate, Stage 1 to 2",
            show(month["escalation_rate_pct"], "pct"),
            f"{show(month['stage_2_escalations'], 'count')} escalations · YTD {show(ytd['escalation_rate_pct'], 'pct')}",
        ),
        page.Tile(
            "Upheld or partly upheld",
            show(month["upheld_pct"], "pct"),
            f"{show(month['outcome_upheld'], 'count')} of {show(month['outcomes_recorded'], 'count')} outcomes"
            f" · YTD {show(ytd['upheld_pct'], 'pct')}",
        ),
        page.Tile(
            "Compliments received",
            show(month["compliments_received"], "count"),
            sub("compliments_received", "count"),
        ),
        page.Tile(
            "Financial remedies agreed",
            show(month["financial_remedies_gbp"], "gbp"),
            f"{show(month['financial_remedies'], 'count')} remedies · YTD {show(ytd['financial_remedies_gbp'], 'gbp')}",
        ),
        page.Tile(
            "Payments made",
            show(month["payments_gbp"], "gbp"),
            f"{show(month['payments'], 'count')} payments · YTD {show(ytd['payments_gbp'], 'gbp')}",
        ),
        page.Tile(
            "Ombudsman decisions",
            show(month["ombudsman_decisions"], "count"),
            f"{show(month['ombudsman_upheld'], 'count')} upheld · YTD {show(ytd['ombudsman_decisions'], 'count')}",
        ),
    ]
    return items


def _trend_charts(data: dict, figures: dict) -> list[dict]:
    trend, before = data["trend"], data["trend_last_year"]
    labels = [short_month(date.fromisoformat(p["month"] + "-01")) for p in trend]
    hollow = [not p["source"].startswith("published") for p in trend]
    targets = {t["numerator"]: Decimal(t["target_pct"]) for t in figures["targets"]}

    def counts_chart(key: str, name: str, chart_id: str) -> dict:
        return charts.line_chart(
            chart_id,
            f"{name}, last 13 months, with the same months a year earlier",
            labels,
            [
                charts.Series("This year", [_num(p.get(key)) for p in trend], charts.STYLES[0], hollow),
                charts.Series("Year before", [_num(p.get(key)) for p in before], charts.LAST_YEAR),
            ],
            fmt=count,
        )

    stages = (1, 2)  # the stages with targets; Stage 0 and 3 are in the tiles and the table
    timescale = charts.line_chart(
        "chart-timescale",
        "Responses within timescale by stage, last 13 months, against targets",
        labels,
        [
            charts.Series(
                f"Stage {s}",
                [_num(p.get(f"stage_{s}_within_timescale_pct")) for p in trend],
                charts.STYLES[k],
                hollow,
            )
            for k, s in enumerate(stages)
        ],
        fmt=lambda v: pct(v, 0),
        y_max=100,
        targets=[
            (float(targets[f"stage_{s}_within_timescale"]), f"Target S{s}")
            for s in stages
            if f"stage_{s}_within_timescale" in targets
        ],
    )
    rates = charts.line_chart(
        "chart-rates",
        "Escalation rate and upheld share, last 13 months, with the year before",
        labels,
        [
            charts.Series(
                "Escalated", [_num(p.get("escalation_rate_pct")) for p in trend], charts.STYLES[1], hollow
            ),
            charts.Series("Upheld", [_num(p.get("upheld_pct")) for p in trend], charts.STYLES[2], hollow),
            charts.Series("Upheld, yr before", [_num(p.get("upheld_pct")) for p in before], charts.LAST_YEAR),
        ],
        fmt=lambda v: pct(v, 0),
        y_max=100,
    )
    note = (
        "Open markers: months not published (figures from the current warehouse, not signed off). "
        "Grey dashed: the same months a year earlier."
    )
    return [
        _figure(
            counts_chart("complaints_received", "Complaints received", "chart-received"),
            "Complaints received",
            note,
        ),
        _figure(counts_chart("complaints_closed", "Complaints closed", "chart-closed"), "Complaints closed"),
        _figure(
            timescale, "Responses within timescale (%)", "Dotted black lines: the targets (kpi_targets)."
        ),
        _figure(rates, "Escalation rate, Stage 1 to 2, and upheld share (%)"),
    ]


def _figure(chart: dict, caption: str, note: str = "") -> dict:
    """A chart for the template's figure block: the chart charts.py worked out, its caption and note."""
    return {"chart": chart, "caption": caption, "note": note}


def _table(headers: list[str], rows: list, numeric: list[bool], **extra) -> dict:
    """A table for the template's table block (cells already formatted; the template escapes them)."""
    return {"headers": headers, "rows": rows, "numeric": numeric, "caption": "", "footer": None, **extra}


def _trend_table(data: dict) -> dict:
    rows_out = []
    for p, b in zip(data["trend"], data["trend_last_year"], strict=True):
        rows_out.append(
            [
                month_label(date.fromisoformat(p["month"] + "-01")),
                show(p.get("complaints_received"), "count"),
                show(b.get("complaints_received"), "count"),
                show(p.get("complaints_closed"), "count"),
                *(show(p.get(f"stage_{s}_within_timescale_pct"), "pct") for s in STAGES),
                show(p.get("escalation_rate_pct"), "pct"),
                show(p.get("upheld_pct"), "pct"),
                p["source"],
            ]
        )
    return _table(
        [
            "Month",
            "Received",
            "Year before",
            "Closed",
            *(f"S{s} on time" for s in STAGES),
            "Escalated",
            "Upheld",
            "Figures",
        ],
        rows_out,
        [False] + [True] * 9 + [False],
        caption="The trend in figures (S0 to S3: responses within timescale at Stages 0 to 3)",
        table_id="trend-table",
    )


def _directorates(data: dict) -> tuple[dict, dict]:
    month_rows = [d for d in data["directorates"] if d["period"] == "month"]
    ytd = {d["directorate"]: d for d in data["directorates"] if d["period"] == "financial_year_to_date"}
    head = data["headline"]

    def line(name: str, m: dict, y: dict) -> list[str]:
        return [
            name,
            show(m["complaints_received"], "count"),
            show(y["complaints_received"], "count"),
            show(m["complaints_closed"], "count"),
            show(m["stage_1_within_timescale_pct"], "pct"),
            show(m["stage_2_within_timescale_pct"], "pct"),
            show(m["escalation_rate_pct"], "pct"),
            show(m["upheld_pct"], "pct"),
            show(m["compliments_received"], "count"),
            show(m["financial_remedies_gbp"], "gbp"),
            show(m["ombudsman_decisions"], "count"),
        ]

    body = [line(d["directorate"], d, ytd.get(d["directorate"], d)) for d in month_rows]
    total = line("Council total", head["month"], head["financial_year_to_date"])
    table = _table(
        [
            "Directorate",
            "Received",
            "Received YTD",
            "Closed",
            "Stage 1 on time",
            "Stage 2 on time",
            "Escalated",
            "Upheld",
            "Compliments",
            "Remedies",
            "Ombudsman",
        ],
        body,
        [False] + [True] * 10,
        footer=total,
        table_id="directorate-table",
    )
    chart = charts.bar_chart(
        "chart-directorates",
        "Complaints received and closed this month, by directorate",
        [d["directorate"] for d in month_rows],
        [
            charts.Series("Received", [_num(d["complaints_received"]) for d in month_rows], charts.STYLES[0]),
            charts.Series("Closed", [_num(d["complaints_closed"]) for d in month_rows], charts.STYLES[1]),
        ],
        fmt=count,
        shown=lambda k, c: show(
            month_rows[c]["complaints_received" if k == 0 else "complaints_closed"], "count"
        ),
    )
    return _figure(chart, "Complaints received and closed this month, by directorate"), table


def _scorecard(data: dict) -> list[dict]:
    """The scorecard's lines: each KPI's month and year to date, formatted (badges: the template)."""
    by_code: dict[str, dict] = {}
    for k in data["scorecard"]:
        by_code.setdefault(k["kpi_code"], {})[k["period"]] = k

    def rating(k: dict) -> dict:
        return {"rag": k["rag"], "css": k["rag"].replace(" ", ""), "label": RAG_SYMBOL.get(k["rag"], "")}

    lines = []
    for periods in by_code.values():
        m, y = periods["month"], periods["financial_year_to_date"]
        direction = "or more" if m["higher_is_better"] else "or less"
        lines.append(
            {
                "name": m["kpi_name"],
                "target": f"{pct(m['target_pct'], 0)} {direction}",
                "actual": show(m["actual_pct"], "pct"),
                "of": f"{show(m['numerator'], 'count')} of {show(m['denominator'], 'count')}",
                "rating": rating(m),
                "actual_ytd": show(y["actual_pct"], "pct"),
                "rating_ytd": rating(y),
            }
        )
    return lines


MEASURE_NAMES = {
    "complaints_received": "complaints received",
    "representations_received": "representations received",
    "compliments_received": "compliments received",
}


def _restatements(data: dict, since) -> dict | str:
    """The restatements' table, or the sentence saying there were none."""
    if not data["restatements"]:
        when = f" since the last pack (published {uk_date(since)})" if since else ""
        return f"No published figure has been restated{when}."
    body = [
        [
            r["month"],
            f"v{r['from_version']} → v{r['to_version']}",
            r["directorate"],
            r["procedure_code"],
            r["period"].replace("_", " "),
            MEASURE_NAMES.get(r["measure"], r["measure"].replace("_", " ")),
            show(r["old_value"], "plain"),
            show(r["new_value"], "plain"),
            r["reason"],
        ]
        for r in data["restatements"]
    ]
    return _table(
        ["Month", "Version", "Directorate", "Procedure", "Period", "Measure", "Was", "Now", "Why"],
        body,
        [False, False, False, False, False, False, True, True, False],
        table_id="restatements",
    )


def _known_issues(issues: list[dict]) -> dict | None:
    """The known issues this publication went out despite, first on the page: never in small print."""
    if not issues:
        return None
    body = [
        [
            f"#{k['issue_id']}",
            k["expectation"],
            str(len(k["failing_rows"])),
            "; ".join(",".join(f"{c}={v}" for c, v in r.items()) for r in k["rows"]),
            k["reason"],
            k["signed_off_by"],
            uk_date(k["expires_on"]),
        ]
        for k in issues
    ]
    return _table(
        ["Issue", "Expectation failed", "Rows", "Which rows", "Why", "Signed off by", "Expires"],
        body,
        [False, False, True, False, False, False, False],
        table_id="known-issues",
    )


def render(figures: dict, sup: Suppression, council_dir: Path | None = None) -> tuple[str, dict]:
    """The pack's HTML (templates/bmmr_pack.html.j2, or the council's own in ``council_dir``) and its data
    block."""
    data = data_block(figures, sup)
    pub, month = figures["publication"], figures["month"]
    fresh, validation = figures["freshness"], figures["validation"]
    footer = [
        (
            "Figures",
            f"published BMMR, {month_label(month)}, version {pub['version']} (checksum {pub['checksum']})",
        ),
        ("Published", f"{uk_datetime(pub['published_at'])} by {pub['published_by']}"),
        (
            "Validation run",
            f"{pub['validation_run_id']}: {validation['passed']} of {validation['evaluated']} expectations passed"
            + (f" ({uk_datetime(validation['validated_at'])})" if validation["validated_at"] else "")
            + (
                f"; {len(figures['known_issues'])} failure(s) published under signed-off known issues"
                if figures["known_issues"]
                else ""
            ),
        ),
        (
            "Publication chain",
            f"verified; head {figures['chain_head'][1]} (position {figures['chain_head'][0]}): keep it to check "
            "later with `complaints-warehouse verify --head`"
            if figures["chain_head"]
            else "verified",
        ),
        (
            "Data freshness",
            f"cases received up to {uk_date(fresh['latest_case_received'])}; case system last loaded "
            f"{uk_datetime(fresh['latest_case_system_load'])}",
        ),
    ]
    directorate_chart, directorate_table = _directorates(data)
    html = page.render_template(
        "bmmr_pack.html.j2",
        council_dir,
        title=f"BMMR pack: {month_label(month)}",
        kicker="Business Management and Monitoring Report · complaints",
        lede=(
            f"Published figures for {month_label(month)} and the financial year to date, "
            f"version {pub['version']}. Stage figures count each stage a case reached."
            + (
                f" Published despite {len(figures['known_issues'])} signed-off known issue(s): see below."
                if figures["known_issues"]
                else ""
            )
        ),
        public=sup.public,
        footer=footer,
        data=data,
        month_label=month_label(month),
        known_issues=_known_issues(figures["known_issues"]),
        tiles=_tiles(data),
        trend_charts=_trend_charts(data, figures),
        trend_table=_trend_table(data),
        directorate_chart=directorate_chart,
        directorate_table=directorate_table,
        scorecard=_scorecard(data),
        restatements=_restatements(data, figures["since_last_pack"]),
        suppression_note=sup.note(),
    )
    return html, data


def write(
    settings: Settings, target: Connection, *, month: date | None = None, public: bool = False
) -> list[Path]:
    """Write the pack for ``month`` (default: the latest published) to outputs/reports/."""
    with database.connect(target) as conn:
        figures = gather(conn, month)
    sup = Suppression(public, settings.suppression_threshold)
    html, _ = render(figures, sup, settings.report_templates_dir)
    path = reports_dir(settings) / f"bmmr-pack-{figures['month']:%Y-%m}{'-public' if public else ''}.html"
    write_atomic(path, html)
    return [path]
