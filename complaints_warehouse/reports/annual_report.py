"""The statutory annual report for a financial year and procedure (or all procedures), from
``marts.annual_report``: the tables the councils' annual reports carry, each with last year beside it,
ready to paste into a committee report, and a CSV of every table.

Sections, in report order: representations received, complaints by stage, outcomes, timescale bands,
nature of complaints, complaints by service area, compliments by service, Ombudsman outcomes, payments.
Each cell counts in the year of its own event (a complaint received in March and answered in April
counts as received in one year and answered in the next).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from complaints_warehouse.outputs import csv_text, write_atomic
from complaints_warehouse.reports import ReportUnavailable, charts, page, reports_dir, rows
from complaints_warehouse.reports.formatting import (
    Suppression,
    count,
    pct,
    plain,
    secondary_suppression,
    show,
    signed,
    slug,
    uk_date,
)
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.database import Connection

ALL = "all"
#: Section (as in marts.annual_report) -> the table's title.
SECTIONS = {
    "1 representations received": "Representations received, by type",
    "2 complaints by stage": "Complaints by stage (stages opened)",
    "3 outcomes": "Outcomes of the council's stages answered",
    "4 timescale bands": "Time taken to respond (council stages answered)",
    "5 nature of complaints": "Nature of complaints (complaint points)",
    "6 complaints by service area": "Complaints by service area",
    "7 compliments by service": "Compliments by service",
    "8 Ombudsman outcomes": "Ombudsman decisions (the council's records)",
    "9 payments": "Payments made",
}
FIXED_ORDER = {
    "1 representations received": ["complaint", "compliment", "comment", "mp_enquiry"],
    "2 complaints by stage": ["stage 0", "stage 1", "stage 2", "stage 3", "stage ombudsman"],
    "4 timescale bands": ["within 20 working days", "21 to 40 working days", "over 40 working days"],
    "9 payments": ["payments made", "GBP paid"],
}
TYPE_NAMES = {
    "complaint": "Complaints",
    "compliment": "Compliments",
    "comment": "Comments",
    "mp_enquiry": "MP enquiries",
}
OMBUDSMAN_NAMES = {
    "upheld": "Upheld",
    "not_upheld": "Not upheld",
    "advice_given": "Advice given",
    "closed_after_initial_enquiries": "Closed after initial enquiries",
    "incomplete_invalid": "Incomplete/Invalid",
    "referred_back_for_local_resolution": "Referred back for local resolution",
    "not decided": "Not decided",
}
MONEY = ("9 payments", "GBP paid")


def default_year(conn) -> str | None:
    """The latest financial year the case system's data covers to its end (31 March), else the latest
    with any figures."""
    found = conn.execute(
        "select max(financial_year) filter (where year_end_date <= "
        "(select max(received_date) from marts.fct_representations)), max(financial_year) "
        "from marts.rpt_annual_report"
    ).fetchone()
    return found[0] or found[1]


def _rank(section: str, row: dict) -> tuple:
    """Where a row goes in its table: the fixed order of its section, else its category_order
    (rpt_annual_report: natures, outcome groups); then the larger first, then by name."""
    fixed = FIXED_ORDER.get(section)
    if fixed:
        place = (0, fixed.index(row["category"]) if row["category"] in fixed else len(fixed))
    else:
        place = (row["category_order"] is None, row["category_order"] or 0)
    return (*place, -row["this_year"], row["category"])


def gather(conn, year: str | None = None, procedure: str = ALL) -> dict:
    """The report's cells for ``year`` ("2023/24") and ``procedure`` (a procedure code, or all),
    with last year's beside them; unsuppressed. Every figure is selected from ``marts.rpt_annual_report``."""
    if conn.execute("select to_regclass('marts.rpt_annual_report')").fetchone()[0] is None:
        raise ReportUnavailable(
            "marts.rpt_annual_report does not exist yet: build the warehouse first (`complaints-warehouse run`)."
        )
    year = year or default_year(conn)
    if year is None:
        raise ReportUnavailable("marts.annual_report has no figures yet: load and build the warehouse first.")
    procedures = rows(
        conn, "select procedure_code, procedure_name from marts.dim_procedure order by sort_order"
    )
    names = {p["procedure_code"]: p["procedure_name"] for p in procedures}
    if procedure != ALL and procedure not in names:
        raise ReportUnavailable(
            f"{procedure!r} is not a procedure: use one of {', '.join(names)} or {ALL!r} (every procedure)."
        )
    cells = rows(
        conn,
        "select * from marts.rpt_annual_report where financial_year = %s and procedure_code = %s",
        (year, procedure),
    )
    if not cells:
        held = [
            r[0]
            for r in conn.execute("select distinct financial_year from marts.rpt_annual_report order by 1")
        ]
        raise ReportUnavailable(
            f"marts.annual_report has no figures for {year} ({procedure}); years held: {', '.join(held) or 'none'}."
        )
    first = cells[0]
    sections = []
    for section, title in SECTIONS.items():
        ranked = sorted((c for c in cells if c["section"] == section), key=lambda c: _rank(section, c))
        lines = [
            {
                "category": c["category"],
                "label": _label(section, c["category"], c["category_name"]),
                "this_year": c["this_year"],
                "last_year": c["last_year"],
                "change": c["change_from_last_year"],
            }
            for c in ranked
        ]
        totals = (
            {
                "this_year": ranked[0]["section_total_this_year"],
                "last_year": ranked[0]["section_total_last_year"],
                "change": ranked[0]["section_total_change"],
            }
            if ranked
            else None
        )
        sections.append({"section": section, "title": title, "rows": lines, "totals": totals})
    received = rows(
        conn,
        "select max(received_date) as latest from marts.fct_representations",
    )[0]["latest"]
    return {
        "year": year,
        "last_year": first["previous_financial_year"],
        "has_last_year": any(c["last_year"] is not None for c in cells),
        "procedure": procedure,
        "procedure_name": first["procedure_name"] if procedure == ALL else names[procedure],
        "period_start": first["year_start_date"],
        "period_end": first["year_end_date"],
        "latest_case_received": received,
        "rates": {
            "within_20_working_days_pct": first["within_20_working_days_pct"],
            "upheld_pct": first["upheld_pct"],
        },
        "sections": sections,
    }


def _label(section: str, category: str, name: str | None) -> str:
    if section.startswith("1"):
        return TYPE_NAMES.get(category, category)
    if section.startswith("2"):
        return "Ombudsman" if category == "stage ombudsman" else category.capitalize()
    if section.startswith("5"):
        return name or category
    if section.startswith("8"):
        return OMBUDSMAN_NAMES.get(category, category.replace("_", " ").capitalize())
    if category == "GBP paid":
        return "Amount paid"
    return category[:1].upper() + category[1:]


def publicise(figures: dict, sup: Suppression) -> list[dict]:
    """Every cell as the data block and CSV carry it: small counts suppressed when public, and the cells
    withheld so that none can be worked out from another section (``withheld_cells``); the change from
    last year when either year's count is hidden; the amount paid with the count of payments)."""
    withheld = {year: withheld_cells(figures, sup, year) for year in ("this_year", "last_year")}

    def hide(cell: tuple[str, str], r: dict, year: str) -> str | None:
        if sup.hides(r[year]):
            return sup.label
        return sup.withheld if cell in withheld[year] else None

    out = []
    for s in figures["sections"]:
        payments = {r["category"]: r for r in s["rows"]} if s["section"] == "9 payments" else {}
        for r in s["rows"]:
            cell = (s["section"], r["category"])
            if cell == MONEY:
                base = payments.get("payments made", {})
                this = sup.derived(r["this_year"], base.get("this_year"))
                last = sup.derived(r["last_year"], base.get("last_year"))
                hidden = sup.hides(base.get("this_year")) or sup.hides(base.get("last_year"))
                change = sup.label if hidden else None
            else:
                this_hidden, last_hidden = hide(cell, r, "this_year"), hide(cell, r, "last_year")
                this = this_hidden or plain(r["this_year"])
                last = last_hidden or plain(r["last_year"])
                change = sup.label if sup.label in (this_hidden, last_hidden) else this_hidden or last_hidden
            out.append(
                {
                    "financial_year": figures["year"],
                    "procedure": figures["procedure"],
                    "section": s["section"],
                    "category": r["category"],
                    "label": r["label"],
                    "this_year": this,
                    "last_year": last,
                    "change": change if change and r["change"] is not None else plain(r["change"]),
                }
            )
    return out


#: Sections whose cells add up to a cell of section 1, and the two sections that both count the
#: stages responded to (by outcome, and by timescale band).
ADDS_UP_TO = {
    "6 complaints by service area": ("1 representations received", "complaint"),
    "7 compliments by service": ("1 representations received", "compliment"),
}
RESPONDED = ("3 outcomes", "4 timescale bands")


def withheld_cells(figures: dict, sup: Suppression, year: str) -> set[tuple[str, str]]:
    """The cells of ``year`` ("this_year" or "last_year") a public report withholds besides the small
    counts, so that none can be worked out by subtraction across sections: service areas add up to
    the complaints received, services to the compliments, and outcomes and timescale bands both to
    the stages responded to (taken as known: a reader gets it from either section when it is whole)."""
    if not sup.public:
        return set()
    values = {
        (s["section"], r["category"]): r[year]
        for s in figures["sections"]
        for r in s["rows"]
        if (s["section"], r["category"]) != MONEY
    }
    primary = {cell for cell, value in values.items() if sup.hides(value)}
    sections = defaultdict(list)
    for cell in values:
        sections[cell[0]].append(cell)
    groups = [
        (sections[part], total) for part, total in ADDS_UP_TO.items() if sections[part] and total in values
    ]
    responded = ("stages responded", "all")  # not a cell of the report: what sections 3 and 4 both add to
    values[responded] = max(sum(values[c] or 0 for c in sections[part]) for part in RESPONDED)
    groups += [(sections[part], responded) for part in RESPONDED if sections[part]]
    return secondary_suppression(values, primary, groups, [], sup.threshold) - {responded}


def to_csv(cells: list[dict], last_year: str) -> str:
    """The report's tables as CSV (through ``outputs.csv_text``: no cell a spreadsheet would run)."""
    header = [
        "financial_year",
        "procedure",
        "section",
        "category",
        "label",
        "value",
        f"value_{last_year}",
        "change",
    ]
    return csv_text(
        header,
        (
            [
                c["financial_year"],
                c["procedure"],
                c["section"],
                c["category"],
                c["label"],
                c["this_year"],
                c["last_year"],
                c["change"],
            ]
            for c in cells
        ),
    )


def _num(value) -> float | None:
    return None if value is None or isinstance(value, str) else float(value)


def _kind(cell: dict) -> str:
    return "gbp" if (cell["section"], cell["category"]) == MONEY else "count"


def _section(number: int, title: str, cells: list[dict], figures: dict) -> dict:
    """One table of the report (and its chart) for the template: cells formatted, markup left to it."""
    year, last_year, has_last = figures["year"], figures["last_year"], figures["has_last_year"]
    headers = ["", year] + ([last_year, "Change"] if has_last else [])
    body = []
    for c in cells:
        kind = _kind(c)
        line = [c["label"], show(c["this_year"], kind)]
        if has_last:
            change = c["change"] if isinstance(c["change"], str) else signed(c["change"], money=kind == "gbp")
            line += [show(c["last_year"], kind), change]
        body.append(line)
    counted = [c for c in cells if _kind(c) == "count"]
    totals = None
    if len(counted) > 1 and not cells[0]["section"].startswith(("8", "9")):
        whole = next(s["totals"] for s in figures["sections"] if s["section"] == cells[0]["section"])
        hidden = any(isinstance(c["this_year"], str) for c in counted)
        if hidden or any(isinstance(c["last_year"], str) for c in counted):
            # A public page whose section hides a cell: the total of what it shows, never the whole
            # (which, less the cells shown, would give the hidden ones away).
            total = sum(_num(c["this_year"]) or 0 for c in counted)
            before = sum(_num(c["last_year"]) or 0 for c in counted)
            change = "–" if hidden else signed(total - before)
        else:
            total, before, change = whole["this_year"], whole["last_year"], signed(whole["change"])
        totals = ["Total", count(total) + (" (excluding suppressed)" if hidden else "")]
        if has_last:
            totals += [count(before), change]
    table = {
        "headers": headers,
        "rows": body,
        "numeric": [False] + [True] * (len(headers) - 1),
        "caption": f"Table {number}: {title}, {year}",
        "footer": totals,
        "table_id": f"table-{number}",
    }
    heading = {"number": number, "title": f"{number}. {title}", "id": f"section-{number}", "table": table}
    chart_cells = [c for c in cells if _kind(c) == "count"][:12]
    if not chart_cells:
        return {**heading, "figure": None}
    series = [charts.Series(year, [_num(c["this_year"]) for c in chart_cells], charts.STYLES[0])]
    if has_last:
        series.append(charts.Series(last_year, [_num(c["last_year"]) for c in chart_cells], charts.LAST_YEAR))
    chart = charts.bar_chart(
        f"chart-{number}",
        f"{title}, {year}" + (f" and {last_year}" if has_last else ""),
        [c["label"] for c in chart_cells],
        series,
        fmt=count,
        shown=lambda k, i: show(chart_cells[i]["this_year" if k == 0 else "last_year"], "count"),
    )
    more = len([c for c in cells if _kind(c) == "count"]) - len(chart_cells)
    note = f"The chart shows the 12 largest; the table lists all {len(cells)}." if more > 0 else ""
    return {**heading, "figure": {"chart": chart, "caption": f"Figure {number}: {title}", "note": note}}


def _summary(cells: list[dict], figures: dict) -> list[str]:
    """The headline sentences a committee report opens with."""
    get = {(c["section"], c["category"]): c for c in cells}

    def cell(section: str, category: str) -> dict:
        return get.get((section, category), {"this_year": 0, "last_year": None, "change": None})

    complaints = cell("1 representations received", "complaint")
    compliments = cell("1 representations received", "compliment")
    paid = cell("9 payments", "GBP paid")
    rates = figures["rates"]

    def whole(section: str) -> bool:
        """No cell of the section is hidden: a rate over it gives nothing away."""
        return not any(isinstance(c["this_year"], str) for c in cells if c["section"] == section)

    def versus(c: dict) -> str:
        if not figures["has_last_year"] or isinstance(c["change"], str) or c["change"] is None:
            return ""
        return f" ({signed(c['change'])} on {figures['last_year']})"

    items = [
        f"{show(complaints['this_year'], 'count')} complaints were received{versus(complaints)}, and "
        f"{show(compliments['this_year'], 'count')} compliments{versus(compliments)}.",
    ]
    if rates["within_20_working_days_pct"] is not None and whole("4 timescale bands"):
        items.append(
            f"{pct(rates['within_20_working_days_pct'])} of the council's responses were sent within 20 "
            "working days."
        )
    if rates["upheld_pct"] is not None and whole("3 outcomes"):
        items.append(f"{pct(rates['upheld_pct'])} of the stages answered were upheld or partly upheld.")
    items.append(f"Payments totalled {show(paid['this_year'], 'gbp')}.")
    return items


def render(figures: dict, sup: Suppression, council_dir: Path | None = None) -> tuple[str, dict, str]:
    """The report's HTML (templates/annual_report.html.j2, or the council's own in ``council_dir``), its
    data block and its CSV."""
    cells = publicise(figures, sup)
    data = {
        "report": "annual_report",
        "financial_year": figures["year"],
        "previous_financial_year": figures["last_year"],
        "procedure": figures["procedure"],
        "public": sup.public,
        "suppression_threshold": sup.threshold if sup.public else None,
        "cells": cells,
    }
    by_section: dict[str, list[dict]] = defaultdict(list)
    for c in cells:
        by_section[c["section"]].append(c)
    sections = [
        _section(number, title, by_section[section], figures)
        if by_section.get(section)
        else {
            "number": number,
            "title": f"{number}. {title}",
            "id": f"section-{number}",
            "empty": f"None recorded in {figures['year']}.",
        }
        for number, (section, title) in enumerate(SECTIONS.items(), start=1)
    ]
    start, end = uk_date(figures["period_start"]), uk_date(figures["period_end"])
    footer = [
        ("Source", "marts.annual_report (the warehouse's star schema, rebuilt and validated nightly)"),
        (
            "Period",
            f"{start} to {end}; each figure counted in the year of its own event",
        ),
        ("Procedure", figures["procedure_name"]),
        ("Data freshness", f"cases received up to {uk_date(figures['latest_case_received'])}"),
    ]
    html = page.render_template(
        "annual_report.html.j2",
        council_dir,
        title=f"Complaints annual report {figures['year']}",
        kicker=f"Statutory annual report · {figures['procedure_name']}",
        lede=(
            f"Representations, complaints and compliments from {start} to {end}"
            + (f", with {figures['last_year']} for comparison." if figures["has_last_year"] else ".")
        ),
        public=sup.public,
        footer=footer,
        data=data,
        summary=_summary(cells, figures),
        sections=sections,
        suppression_note=sup.note(),
    )
    return html, data, to_csv(cells, figures["last_year"])


def write(
    settings: Settings,
    target: Connection,
    *,
    year: str | None = None,
    procedure: str = ALL,
    public: bool = False,
) -> list[Path]:
    """Write the report (HTML) and its tables (CSV) to outputs/reports/."""
    with database.connect(target) as conn:
        figures = gather(conn, year, procedure)
    html, _, table = render(
        figures, Suppression(public, settings.suppression_threshold), settings.report_templates_dir
    )
    stem = f"annual-report-{slug(figures['year'])}-{slug(procedure)}{'-public' if public else ''}"
    folder = reports_dir(settings)
    write_atomic(folder / f"{stem}.html", html)
    write_atomic(folder / f"{stem}.csv", table)
    return [folder / f"{stem}.html", folder / f"{stem}.csv"]
