"""The Ombudsman benchmark: the council's uphold, compliance and satisfactory-remedy rates and upheld
decisions per 100,000 residents against the average of similar authorities, year by year
(``marts.ombudsman_benchmark``), with each year's caveat beside it; which authorities form each
similar-authority group and whether the published average is their recomputation
(``marts.ombudsman_similar_authority_averages``); and the reconciliation of the
council's own records of Ombudsman cases with the Ombudsman's (``marts.ombudsman_reconciliation``).

The council is the one named (``--authority`` or ``WAREHOUSE_COUNCIL``, a name or ONS code), else the authority the case
system's cases belong to when the Ombudsman's data has it, else every authority the data holds.
The Ombudsman's rates are already public; the reconciliation's counts are suppressed when public,
and its case-by-case list is internal only.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from complaints_warehouse.outputs import write_atomic
from complaints_warehouse.reports import ReportUnavailable, charts, page, reports_dir, rows
from complaints_warehouse.reports.formatting import (
    Suppression,
    number,
    pct,
    plain,
    show,
    slug,
    uk_date,
)
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.database import Connection

MEASURES = {
    "uphold_rate_pct": ("Uphold rate", "upheld of detailed investigations; lower is better", "pct0"),
    "compliance_rate_pct": ("Compliance with recommendations", "higher is better", "pct0"),
    "satisfactory_remedy_rate_pct": (
        "Satisfactory remedy rate",
        "upheld cases the council had already put right; higher is better",
        "pct0",
    ),
    "upheld_per_100k": ("Upheld per 100,000 residents", "lower is better", "number"),
}
#: A published similar-authority average its group's councils do not reproduce: a flag beside the figure.
AVERAGE_FLAGS = {
    "differs": "average differs from its recomputation",
    "no population": "average: a council of the group has no population",
    "published values disagree": "average published differently for councils of one group",
}
AVERAGE_STATUS = {
    "matches": "the published average is the recomputation, as rounded",
    "differs": "the published average is not the recomputation (flag)",
    "group incomplete": "the statistics hold only part of the group: load the Ombudsman's national file",
    "not published": "no average published",
    "not recomputed": "not recomputable (which outcomes complied is not published)",
    "no counts": "a council of the group has no counts (only rates published)",
    "no population": "a council of the group has no ONS population (flag)",
    "published values disagree": "councils of one group carry different averages (flag)",
}
STATUSES = ("matched", "date differs", "decision differs", "only ours", "only theirs")
STATUS_MEANING = {
    "matched": "the same case, decision and decision date in both",
    "date differs": "the same decision, on a different date",
    "decision differs": "a different decision recorded",
    "only ours": "in the council's records, not (yet) in the Ombudsman's spreadsheets",
    "only theirs": "in the Ombudsman's spreadsheets, not in the council's records",
}


def _short_caveat(caveat: str | None) -> str:
    if not caveat:
        return ""
    return "Covid pause" if "Covid" in caveat else "New process" if "process" in caveat else "Note"


def _councils(conn, authority: str | None) -> list[str]:
    held = [
        r[0] for r in conn.execute("select distinct authority_name from marts.ombudsman_benchmark order by 1")
    ]
    if authority:
        match = conn.execute(
            "select authority_name from marts.dim_authority where lower(authority_name) = lower(%(a)s) "
            "or lower(ons_code) = lower(%(a)s) or position(lower(%(a)s) in lower(name_variants)) > 0 limit 1",
            {"a": authority},
        ).fetchone()
        name = match[0] if match else authority
        if name not in held:
            raise ReportUnavailable(
                f"the Ombudsman's data has no figures for {authority!r}; it has: {', '.join(held) or 'none'}."
            )
        return [name]
    ours = [
        r[0]
        for r in conn.execute(
            "select distinct a.authority_name from marts.fct_representations r join marts.dim_authority a "
            "on lower(r.authority_code) in (lower(a.ons_code), lower(a.authority_name))"
        )
    ]
    return [n for n in ours if n in held] or held


def gather(conn, authority: str | None = None) -> dict:
    """The benchmark rows of the council (or each authority held) and the reconciliation; unsuppressed."""
    if conn.execute("select to_regclass('marts.ombudsman_benchmark')").fetchone()[0] is None:
        raise ReportUnavailable("marts.ombudsman_benchmark does not exist yet: build the warehouse first.")
    if not conn.execute("select exists (select 1 from marts.ombudsman_benchmark)").fetchone()[0]:
        raise ReportUnavailable(
            "the Ombudsman's annual statistics are not loaded: `complaints-warehouse load ombudsman`, then build."
        )
    councils = _councils(conn, authority)
    benchmark = rows(
        conn,
        "select authority_name, ons_code, similar_authority_group, financial_year, measure, council_value, "
        "similar_authority_value, difference, comparison, recomputation, similar_authority_recomputed, "
        "similar_authority_recomputation, caveat from marts.ombudsman_benchmark "
        "where authority_name = any(%s) order by authority_name, financial_year, measure",
        (councils,),
    )
    groups = sorted({(r["similar_authority_group"], r["financial_year"]) for r in benchmark})
    averages = (
        rows(
            conn,
            "select similar_authority_group, financial_year, measure, councils_in_group, "
            "councils_in_statistics, councils, councils_missing, published_average, recomputed_average, "
            "recomputation from marts.ombudsman_similar_authority_averages "
            "where (similar_authority_group, financial_year) in (select * from unnest(%s::text[], %s::text[])) "
            "order by similar_authority_group, financial_year, measure",
            ([g for g, _ in groups], [y for _, y in groups]),
        )
        if groups
        and conn.execute("select to_regclass('marts.ombudsman_similar_authority_averages')").fetchone()[0]
        else []
    )
    reconciliation = rows(
        conn,
        "select ombudsman_reference, reconciliation_status, our_decision, their_decision, our_decision_date, "
        "their_decision_date, decision_date_difference_days from marts.ombudsman_reconciliation "
        "order by reconciliation_status, ombudsman_reference",
    )
    return {
        "councils": councils,
        "benchmark": benchmark,
        "averages": averages,
        "reconciliation": reconciliation,
    }


def data_block(figures: dict, sup: Suppression) -> dict:
    counts = {s: sum(r["reconciliation_status"] == s for r in figures["reconciliation"]) for s in STATUSES}
    data = {
        "report": "ombudsman_benchmark",
        "public": sup.public,
        "suppression_threshold": sup.threshold if sup.public else None,
        "councils": figures["councils"],
        "benchmark": [
            {k: plain(v) if isinstance(v, Decimal) else v for k, v in r.items()} for r in figures["benchmark"]
        ],
        "similar_authority_averages": [
            {k: plain(v) if isinstance(v, Decimal) else v for k, v in r.items()}
            for r in figures.get("averages", [])
        ],
        "reconciliation_counts": {s: sup.count(n) for s, n in counts.items()},
        "reconciliation_total": sup.count(len(figures["reconciliation"])),
    }
    if not sup.public:  # case by case: internal only
        data["reconciliation_differences"] = [
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in figures["reconciliation"]
            if r["reconciliation_status"] != "matched"
        ]
    return data


def _fmt(kind: str):
    return (lambda v: pct(v, 0)) if kind == "pct0" else (lambda v: number(v, 1))


def _cell(value: str = "", note: str | None = "", *, year: str = "", authority: str = "") -> dict:
    """A cell of the benchmark's tables for the template's ``cell`` macro: a figure (or a year, in bold,
    after an authority's name) with a note under it (a caveat, the average and comparison, a flag)."""
    return {"value": value, "note": note or "", "year": year, "authority": authority}


def _measure_cell(r: dict | None, kind: str) -> dict | str:
    """The council's figure, with the similar authorities' average and the comparison under it."""
    if not r:
        return "–"
    # A flag, never silence: a figure its counts do not reproduce, or that no population can check.
    flag = {"differs": "differs from its recomputation", "no population": "no population"}.get(
        r.get("recomputation") or ""
    )
    average_flag = AVERAGE_FLAGS.get(r.get("similar_authority_recomputation") or "")
    if average_flag:
        flag = f"{flag} · {average_flag}" if flag else average_flag
    if r["council_value"] is None and r["similar_authority_value"] is None:
        return _cell("–", flag)
    avg = r["similar_authority_value"]
    under = " · ".join(
        x
        for x in (f"avg {show(avg, kind)}" if avg is not None else "", r["comparison"] or "", flag or "")
        if x
    )
    return _cell(show(r["council_value"], kind), under)


def _table(first: str, lines: list[list], **extra) -> dict:
    """A table of the measures for the template's table block, after a first column (year or authority)."""
    return {
        "headers": [first, *(title for title, _, _ in MEASURES.values())],
        "rows": lines,
        "numeric": [False] + [True] * len(MEASURES),
        "caption": "",
        "footer": None,
        "table_id": "",
        **extra,
    }


def _overview(figures: dict) -> dict:
    """Each authority's latest year side by side, and the uphold and satisfactory-remedy rates charted
    against their similar authorities."""
    latest = {}
    for r in figures["benchmark"]:
        if r["financial_year"] >= latest.get(r["authority_name"], ""):
            latest[r["authority_name"]] = r["financial_year"]
    cell = {(r["authority_name"], r["financial_year"], r["measure"]): r for r in figures["benchmark"]}
    body = []
    for name in figures["councils"]:
        year = latest[name]
        caveat = next(
            (
                r["caveat"]
                for r in figures["benchmark"]
                if (r["authority_name"], r["financial_year"]) == (name, year)
            ),
            None,
        )
        line = [_cell(year=year, note=caveat, authority=name)]
        for measure, (_, _, kind) in MEASURES.items():
            line.append(_measure_cell(cell.get((name, year, measure)), kind))
        body.append(line)
    figures_out = []
    for k, measure in enumerate(("uphold_rate_pct", "satisfactory_remedy_rate_pct")):
        title = MEASURES[measure][0]
        names = figures["councils"]
        own = [cell.get((n, latest[n], measure), {}).get("council_value") for n in names]
        avg = [cell.get((n, latest[n], measure), {}).get("similar_authority_value") for n in names]
        chart = charts.bar_chart(
            f"chart-overview-{k}",
            f"{title}, latest year: each authority against its similar authorities",
            [f"{n.replace(' Council', '')} {latest[n]}" for n in names],
            [
                charts.Series("Authority", [None if v is None else float(v) for v in own], charts.STYLES[0]),
                charts.Series(
                    "Similar authorities' average",
                    [None if v is None else float(v) for v in avg],
                    charts.LAST_YEAR,
                ),
            ],
            fmt=lambda v: pct(v, 0),
            width=480,
        )
        figures_out.append(_figure(chart, f"{title}, latest year", MEASURES[measure][1].capitalize() + "."))
    return {
        "figures": figures_out,
        "table": _table("Authority, latest year", body, table_id="benchmark-overview"),
    }


def _figure(chart: dict, caption: str, note: str = "") -> dict:
    """A chart for the template's figure block: the chart charts.py worked out, its caption and note."""
    return {"chart": chart, "caption": caption, "note": note}


def _council_section(name: str, lines: list[dict], index: int, averages: list[dict] | None = None) -> dict:
    years = sorted({r["financial_year"] for r in lines})
    cell = {(r["financial_year"], r["measure"]): r for r in lines}
    group = next((r["similar_authority_group"] for r in lines if r["similar_authority_group"]), None)
    caveats = {
        y: next((r["caveat"] for r in lines if r["financial_year"] == y and r["caveat"]), None) for y in years
    }
    annotations: dict[int, str] = {}
    for i, y in enumerate(years):  # one label where a caveat starts
        short = _short_caveat(caveats[y])
        if short and (i == 0 or _short_caveat(caveats[years[i - 1]]) != short):
            annotations[i] = short
    figures_out = []
    for k, (measure, (title, reading, kind)) in enumerate(MEASURES.items()):
        council = [cell.get((y, measure), {}).get("council_value") for y in years]
        similar = [cell.get((y, measure), {}).get("similar_authority_value") for y in years]
        if sum(v is not None for v in council) < 2:
            continue  # a trend needs two years; the table has the rest
        series = [
            charts.Series("Council", [None if v is None else float(v) for v in council], charts.STYLES[0])
        ]
        if any(v is not None for v in similar):
            series.append(
                charts.Series(
                    "Similar avg", [None if v is None else float(v) for v in similar], charts.LAST_YEAR
                )
            )
        chart = charts.line_chart(
            f"chart-{index}-{k}",
            f"{name}: {title} by year, against similar authorities",
            years,
            series,
            fmt=_fmt(kind),
            y_max=100 if kind == "pct0" else None,
            annotations=annotations,
            width=480,
            height=230,
        )
        figures_out.append(_figure(chart, title, reading.capitalize() + "."))
    body = []
    for y in years:
        line = [_cell(year=y, note=caveats[y])]
        for measure, (_, _, kind) in MEASURES.items():
            line.append(_measure_cell(cell.get((y, measure)), kind))
        body.append(line)
    table = _table(
        "Year",
        body,
        caption=f"{name}: the Ombudsman's figures, year by year",
        table_id=f"benchmark-table-{index}",
    )
    return {
        "name": name,
        "id": f"council-{slug(name)}",
        "group": group or "not published",
        "figures": figures_out,
        "table": table,
        "similar": _similar_authorities(name, lines, averages or [], index),
    }


def _similar_authorities(name: str, lines: list[dict], averages: list[dict], index: int) -> dict | None:
    """Which authorities form the council's similar-authority group each year, and each published average
    beside its recomputation from them (a national file holds every council of the group)."""
    keys = sorted(
        {(r["similar_authority_group"], r["financial_year"]) for r in lines if r["similar_authority_group"]}
    )
    by_key = {(a["similar_authority_group"], a["financial_year"], a["measure"]): a for a in averages}
    body, members = [], []
    for group, year in keys:
        first = next((a for (g, y, _), a in by_key.items() if (g, y) == (group, year)), None)
        if first is None:
            continue
        line: list = [
            year,
            f"{group}: {show(first['councils_in_statistics'], 'count')} of "
            f"{show(first['councils_in_group'], 'count')} in the statistics",
        ]
        for measure, (_, _, kind) in MEASURES.items():
            a = by_key.get((group, year, measure))
            if not a:
                line.append("–")
                continue
            shown = " / ".join((show(a["published_average"], kind), show(a["recomputed_average"], kind)))
            line.append(_cell(shown, a["recomputation"]))
        body.append(line)
        members.append(
            {
                "group": group,
                "year": year,
                "size": show(first["councils_in_group"], "count"),
                "councils": first["councils"] or "none",
                "missing": first["councils_missing"] or "",
            }
        )
    if not body:
        return None
    table = _table(
        "Year",
        body,
        caption=f"{name}: similar authorities, the published average / its recomputation from the group",
        table_id=f"similar-authorities-{index}",
    )
    table["headers"].insert(1, "Group")
    table["numeric"].insert(1, False)
    legend = "; ".join(f"{k}: {v}" for k, v in AVERAGE_STATUS.items())
    return {"table": table, "groups": members, "legend": legend}


def _reconciliation(figures: dict, data: dict, sup: Suppression) -> dict:
    counts = data["reconciliation_counts"]
    rows_out = [[s.capitalize(), show(counts[s], "count"), STATUS_MEANING[s]] for s in STATUSES]
    table = {
        "headers": ["Status", "Cases", "Meaning"],
        "rows": rows_out,
        "numeric": [False, True, False],
        "footer": ["Total", show(data["reconciliation_total"], "count"), ""],
        "caption": "The council's records of Ombudsman cases against the Ombudsman's case-by-case spreadsheets",
        "table_id": "reconciliation-table",
    }
    chart = charts.bar_chart(
        "chart-reconciliation",
        "Ombudsman cases by reconciliation status",
        [s.capitalize() for s in STATUSES],
        [
            charts.Series(
                "Cases",
                [None if isinstance(counts[s], str) else float(counts[s]) for s in STATUSES],
                charts.STYLES[0],
            )
        ],
        fmt=lambda v: show(v, "count"),
        shown=lambda k, i: show(counts[STATUSES[i]], "count"),
    )
    out = {
        "figure": _figure(chart, "Reconciliation of Ombudsman cases"),
        "table": table,
        "internal_only": False,  # the case-by-case list is withheld from a public page
        "differences": None,
        "all_agree": False,
    }
    differences = data.get("reconciliation_differences")
    if differences is None:
        out["internal_only"] = True
    elif differences:
        shown_rows = [r for r in differences if r["reconciliation_status"] != "only ours"][:200]
        body = [
            [
                r["ombudsman_reference"],
                r["reconciliation_status"],
                (r["our_decision"] or "–").replace("_", " "),
                (r["their_decision"] or "–").replace("_", " "),
                _date(r["our_decision_date"]),
                _date(r["their_decision_date"]),
                show(r["decision_date_difference_days"], "count"),
            ]
            for r in shown_rows
        ]
        if body:
            out["differences"] = {
                "headers": [
                    "Reference",
                    "Status",
                    "Our decision",
                    "Their decision",
                    "Our date",
                    "Their date",
                    "Days apart",
                ],
                "rows": body,
                "numeric": [False, False, False, False, True, True, True],
                "footer": None,
                "caption": "Cases in both records that differ, and cases only the Ombudsman has",
                "table_id": "reconciliation-differences",
            }
        else:
            out["all_agree"] = True
    return out


def _date(value) -> str:
    from datetime import date

    return uk_date(date.fromisoformat(value)) if value else "–"


def render(figures: dict, sup: Suppression, council_dir: Path | None = None) -> tuple[str, dict]:
    """The report's HTML (templates/ombudsman_benchmark.html.j2, or the council's own in ``council_dir``)
    and its data block."""
    data = data_block(figures, sup)
    councils = [
        _council_section(
            name, [r for r in figures["benchmark"] if r["authority_name"] == name], i, figures.get("averages")
        )
        for i, name in enumerate(figures["councils"])
    ]
    title = figures["councils"][0] if len(figures["councils"]) == 1 else "Authorities in the Ombudsman's data"
    html = page.render_template(
        "ombudsman_benchmark.html.j2",
        council_dir,
        title=f"Ombudsman benchmark: {title}",
        kicker="Local Government and Social Care Ombudsman · annual statistics",
        lede=(
            "The Ombudsman's published rates against the average of similar authorities, year by year; "
            "percentages as the Ombudsman rounds them. A year with no detailed investigations has no rate."
        ),
        public=sup.public,
        overview=_overview(figures) if len(figures["councils"]) > 1 else None,
        councils=councils,
        reconciliation=_reconciliation(figures, data, sup),
        suppression_note=sup.note(),
        footer=[
            (
                "Sources",
                "marts.ombudsman_benchmark (the Ombudsman's annual statistics); "
                "marts.ombudsman_similar_authority_averages; marts.ombudsman_reconciliation",
            ),
            ("Caveats", "2020/21: a three-month Covid-19 pause; from 2022/23: a new investigation process"),
        ],
        data=data,
    )
    return html, data


def write(
    settings: Settings, target: Connection, *, authority: str | None = None, public: bool = False
) -> list[Path]:
    authority = authority or settings.council
    with database.connect(target) as conn:
        figures = gather(conn, authority)
    html, _ = render(
        figures, Suppression(public, settings.suppression_threshold), settings.report_templates_dir
    )
    name = slug(figures["councils"][0]) if authority else "all"
    path = (
        reports_dir(settings)
        / f"ombudsman-benchmark{'' if name == 'all' else '-' + name}{'-public' if public else ''}.html"
    )
    write_atomic(path, html)
    return [path]
