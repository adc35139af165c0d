"""The monthly BMMR pack: what governance leads sign off, drawn from the *published* figures only.

For a published month (default: the latest), from its latest version in ``published.bmmr_figures``:
headline tiles (month, year to date, same month last year), 13-month trends with the year before
beside them, a directorate breakdown, the KPI scorecard (seed ``kpi_targets``; the RAG rule of
``marts.kpi_scorecard``, applied to the published figures), the restatements since the last pack, and
a footer naming the validation run, the version and how fresh the data is.

A trend month that was never published (e.g. the months before the warehouse began publishing) is
taken from ``marts.bmmr_monthly``, drawn with open markers and labelled "not published" in the table
and the data block; every other figure on the page is published.

Percentages are recomputed from the summed counts (never averaged), and are empty when there is
nothing to divide by.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from psycopg import sql

from complaints_warehouse import integrity
from complaints_warehouse.outputs import write_atomic
from complaints_warehouse.publish import KEY_COLUMNS
from complaints_warehouse.reports import ReportUnavailable, add_months, charts, page, reports_dir, rows
from complaints_warehouse.reports.formatting import (
    Suppression,
    count,
    esc,
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
COUNTS = (
    "representations_received",
    "complaints_received",
    "compliments_received",
    "representations_closed",
    "complaints_closed",
    *(f"stage_{s}_{m}" for s in STAGES for m in ("responded", "within_timescale")),
    "stage_2_escalations",
    "outcome_upheld",
    "outcome_not_upheld",
    "outcome_withdrawn_resolved",
    "outcome_not_pursued",
    "financial_remedies",
    "payments",
    "ombudsman_decisions",
    "ombudsman_upheld",
)
#: Money, with the count it rests on (suppressed together in public output).
AMOUNTS = {"financial_remedies_gbp": "financial_remedies", "payments_gbp": "payments"}
OUTCOMES = ("outcome_upheld", "outcome_not_upheld", "outcome_withdrawn_resolved", "outcome_not_pursued")
#: Rates: (numerator, denominator) of the summed counts.
RATES = {
    **{
        f"stage_{s}_within_timescale_pct": (f"stage_{s}_within_timescale", f"stage_{s}_responded")
        for s in STAGES
    },
    "escalation_rate_pct": ("stage_2_escalations", "stage_1_responded"),
    "upheld_pct": ("outcome_upheld", "outcomes_recorded"),
}
#: Every count a record carries (outcomes recorded is the sum of the outcomes).
MEASURES = (*COUNTS, "outcomes_recorded")
RAG_SYMBOL = {"green": "● Met", "amber": "▲ Near", "red": "■ Missed", "no data": "No data"}


def ratio(numerator, denominator) -> Decimal | None:
    """100 x numerator / denominator to one decimal (half up, as PostgreSQL's round); None for x/0."""
    if numerator is None or not denominator:
        return None
    return (Decimal(100) * Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal("0.1"), "ROUND_HALF_UP"
    )


def derive(totals: dict) -> dict:
    """The counts and amounts of a period with its rates added."""
    out = {m: totals.get(m, 0) for m in (*COUNTS, *AMOUNTS)}
    out["outcomes_recorded"] = sum(out[m] for m in OUTCOMES)
    out.update({rate: ratio(out[n], out[d]) for rate, (n, d) in RATES.items()})
    return out


def rag(actual, target, higher_is_better: bool) -> str:
    """marts.kpi_scorecard's rule: green met; amber within 10 % of the target; red beyond."""
    if actual is None:
        return "no data"
    target = Decimal(target)
    if (actual >= target) if higher_is_better else (actual <= target):
        return "green"
    near = (actual >= target * Decimal("0.9")) if higher_is_better else (actual <= target * Decimal("1.1"))
    return "amber" if near else "red"


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
    month = figures["month"]
    year_start = date(month.year if month.month >= 4 else month.year - 1, 4, 1)
    year_months = [("month", p["month"]) for p in figures["trend"] if p["month"] >= f"{year_start:%Y-%m}"]
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


def _sum_published(conn, month: date, version: int, by_directorate: bool) -> dict:
    """{(period[, directorate]): {measure: summed value}} of one published version."""
    group = sql.SQL("period, directorate" if by_directorate else "period")
    totals: dict = defaultdict(dict)
    for r in rows(
        conn,
        sql.SQL(
            "select {group}, measure, sum(value) as value from published.bmmr_figures "
            "where report_month = %s and version = %s and measure = any(%s) group by {group}, measure"
        ).format(group=group),
        (month, version, [*COUNTS, *AMOUNTS]),
    ):
        key = (r["period"], r["directorate"]) if by_directorate else r["period"]
        totals[key][r["measure"]] = r["value"]
    return totals


def _monthly_totals(conn, months: list[date]) -> dict[date, tuple[dict, str]]:
    """Council-wide totals of each month: (figures, source), source "published vN" from the month's
    latest publication, else "not published" from marts.bmmr_monthly; a month with neither is absent."""
    found: dict[date, tuple[dict, str]] = {}
    latest = rows(
        conn,
        "select report_month, max(version) as version from published.bmmr_publications "
        "where report_month = any(%s) group by report_month",
        (months,),
    )
    for p in latest:
        totals = _sum_published(conn, p["report_month"], p["version"], by_directorate=False)
        found[p["report_month"]] = (totals.get("month", {}), f"published v{p['version']}")
    missing = [m for m in months if m not in found]
    if missing and conn.execute("select to_regclass('marts.bmmr_monthly')").fetchone()[0]:
        provisional: dict = defaultdict(dict)
        for r in rows(
            conn,
            "select b.report_month, kv.key as measure, sum(kv.value::numeric) as value "
            "from marts.bmmr_monthly b cross join lateral jsonb_each_text(to_jsonb(b) - %s::text[]) kv "
            "where b.period = 'month' and b.report_month = any(%s) and kv.key = any(%s) group by 1, 2",
            (list(KEY_COLUMNS), missing, [*COUNTS, *AMOUNTS]),
        ):
            provisional[r["report_month"]][r["measure"]] = r["value"]
        for m, totals in provisional.items():
            found[m] = (totals, "not published")
    return found


def gather(conn, month: date | None = None) -> dict:
    """Every figure of the pack for ``month`` (default: the latest published month), unsuppressed.
    Refuses (``integrity.TamperingDetected``) when any published figure or publication was changed or
    removed outside ``publish``: the pack never shows figures that are not what was signed off."""
    integrity.refuse_if_tampered(conn, "The BMMR pack")
    publication = _publication(conn, month)
    month, version = publication["report_month"], publication["version"]
    totals = _sum_published(conn, month, version, by_directorate=False)
    by_directorate = _sum_published(conn, month, version, by_directorate=True)

    window = [add_months(month, k) for k in range(-12, 1)]
    last_year_window = [add_months(m, -12) for m in window]
    monthly = _monthly_totals(conn, window + last_year_window)

    def trend_point(m: date) -> dict:
        figures, source = monthly.get(m, ({}, "no data"))
        return {"month": f"{m:%Y-%m}", "source": source, **(derive(figures) if figures else {})}

    targets = rows(
        conn,
        "select kpi_code, kpi_name, numerator, denominator, target_pct, higher_is_better "
        "from staging.kpi_targets order by kpi_code",
    )
    periods = {p: derive(totals.get(p, {})) for p in ("month", "financial_year_to_date")}
    scorecard = []
    for t in targets:
        for period, figures in periods.items():
            num, den = figures.get(t["numerator"]), figures.get(t["denominator"])
            actual = ratio(num, den)
            scorecard.append(
                {
                    "kpi_code": t["kpi_code"],
                    "kpi_name": t["kpi_name"],
                    "period": period,
                    "numerator": num,
                    "denominator": den,
                    "numerator_measure": t["numerator"],
                    "denominator_measure": t["denominator"],
                    "actual_pct": actual,
                    "target_pct": t["target_pct"],
                    "higher_is_better": t["higher_is_better"],
                    "rag": rag(actual, t["target_pct"], t["higher_is_better"]),
                }
            )

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
        "directorates": [
            {"directorate": d, "period": p, **derive(figures)}
            for (p, d), figures in sorted(by_directorate.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ],
        "targets": targets,
        "scorecard": scorecard,
        "restatements": restated,
        "since_last_pack": previous,
        "validation": {"evaluated": validation[0], "passed": validation[1], "validated_at": validation[2]},
        "known_issues": rows(
            conn,
            "select issue_id, expectation, rows, failing_rows, reason, signed_off_by, expires_on "
            "from published.known_issues_honoured where report_month = %s and version = %s order by issue_id",
            (month, version),
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


def _tiles(data: dict) -> str:
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
    return page.tiles(items)


def _trend_charts(data: dict, figures: dict) -> str:
    trend, before = data["trend"], data["trend_last_year"]
    labels = [short_month(date.fromisoformat(p["month"] + "-01")) for p in trend]
    hollow = [not p["source"].startswith("published") for p in trend]
    targets = {t["numerator"]: Decimal(t["target_pct"]) for t in figures["targets"]}

    def counts_chart(key: str, name: str, chart_id: str) -> str:
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
    return (
        "<div class='charts'>"
        + "".join(
            [
                page.figure(
                    counts_chart("complaints_received", "Complaints received", "chart-received"),
                    "Complaints received",
                    note,
                ),
                page.figure(
                    counts_chart("complaints_closed", "Complaints closed", "chart-closed"),
                    "Complaints closed",
                ),
                page.figure(
                    timescale,
                    "Responses within timescale (%)",
                    "Dotted black lines: the targets (kpi_targets).",
                ),
                page.figure(rates, "Escalation rate, Stage 1 to 2, and upheld share (%)"),
            ]
        )
        + "</div>"
    )


def _trend_table(data: dict) -> str:
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
    return page.table(
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
        numeric=[False] + [True] * 9 + [False],
        caption="The trend in figures (S0 to S3: responses within timescale at Stages 0 to 3)",
        table_id="trend-table",
    )


def _directorates(data: dict) -> str:
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
    table = page.table(
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
        numeric=[False] + [True] * 10,
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
    return page.figure(chart, "Complaints received and closed this month, by directorate") + table


def _scorecard(data: dict) -> str:
    out = []
    by_code: dict[str, dict] = {}
    for k in data["scorecard"]:
        by_code.setdefault(k["kpi_code"], {})[k["period"]] = k
    for periods in by_code.values():
        m, y = periods["month"], periods["financial_year_to_date"]

        def badge(k: dict) -> str:
            if k["rag"] == "suppressed":
                return "<span class='rag nodata'>Suppressed</span>"
            cls = k["rag"].replace(" ", "")
            return f"<span class='rag {cls}' data-rag='{esc(k['rag'])}'>{esc(RAG_SYMBOL[k['rag']])}</span>"

        direction = "or more" if m["higher_is_better"] else "or less"
        out.append(
            [
                esc(m["kpi_name"]),
                esc(f"{pct(m['target_pct'], 0)} {direction}"),
                esc(show(m["actual_pct"], "pct")),
                esc(f"{show(m['numerator'], 'count')} of {show(m['denominator'], 'count')}"),
                badge(m),
                esc(show(y["actual_pct"], "pct")),
                badge(y),
            ]
        )
    return page.table(
        ["KPI", "Target", "This month", "Of", "Rating", "Year to date", "Rating (YTD)"],
        out,
        numeric=[False, True, True, True, False, True, False],
        raw_cells=True,
        table_id="kpi-scorecard",
    ) + (
        "<p class='note'>Ratings: ● Met (green) the target; ▲ Near (amber) within 10 % of it; "
        "■ Missed (red) beyond. Targets: the dbt seed kpi_targets; actuals from the published figures.</p>"
    )


MEASURE_NAMES = {
    "complaints_received": "complaints received",
    "representations_received": "representations received",
    "compliments_received": "compliments received",
}


def _restatements(data: dict, since) -> str:
    if not data["restatements"]:
        when = f" since the last pack (published {uk_date(since)})" if since else ""
        return page.empty(f"No published figure has been restated{when}.")
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
    return page.table(
        ["Month", "Version", "Directorate", "Procedure", "Period", "Measure", "Was", "Now", "Why"],
        body,
        numeric=[False, False, False, False, False, False, True, True, False],
        table_id="restatements",
    )


def _known_issues(issues: list[dict]) -> str:
    """The known issues this publication went out despite, first on the page: never in small print."""
    if not issues:
        return ""
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
    return page.section(
        f"Published despite {len(issues)} known issue(s)",
        "<p class='note'>These validation failures were signed off as known issues: the figures below were "
        "published with them. Each names its rows and expires.</p>"
        + page.table(
            ["Issue", "Expectation failed", "Rows", "Which rows", "Why", "Signed off by", "Expires"],
            body,
            numeric=[False, False, True, False, False, False, False],
            table_id="known-issues",
        ),
        "known-issues",
    )


def render(figures: dict, sup: Suppression) -> tuple[str, dict]:
    """The pack's HTML and its data block."""
    data = data_block(figures, sup)
    pub, month = figures["publication"], figures["month"]
    fresh, validation = figures["freshness"], figures["validation"]
    body = "".join(
        [
            _known_issues(figures["known_issues"]),
            page.section(f"{month_label(month)} at a glance", _tiles(data), "headline"),
            page.section("Trends", _trend_charts(data, figures) + _trend_table(data), "trends"),
            page.section("By directorate", _directorates(data), "directorates"),
            page.section("KPI scorecard", _scorecard(data), "scorecard"),
            page.section(
                "Restatements since the last pack",
                _restatements(data, figures["since_last_pack"]),
                "restatements",
            ),
            f"<p class='note'>{esc(sup.note())}</p>",
        ]
    )
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
    html = page.render(
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
        body=body,
        footer=footer,
        data=data,
    )
    return html, data


def write(
    settings: Settings, target: Connection, *, month: date | None = None, public: bool = False
) -> list[Path]:
    """Write the pack for ``month`` (default: the latest published) to outputs/reports/."""
    with database.connect(target) as conn:
        figures = gather(conn, month)
    sup = Suppression(public, settings.suppression_threshold)
    html, _ = render(figures, sup)
    path = reports_dir(settings) / f"bmmr-pack-{figures['month']:%Y-%m}{'-public' if public else ''}.html"
    write_atomic(path, html)
    return [path]
