"""``complaints-warehouse explain``: the cases behind a published BMMR figure.

A figure of a published month (a measure, a period, and optionally a directorate and a procedure, as the
BMMR rows have them) is compared with the cases ``intermediate.bmmr_figure_cases`` lists for it: a count is the
number of its cases, a sum of money the sum of their amounts, a percentage the ratio of two counts whose
cases are both listed (numerator and denominator). Cases are named by their pseudonymous reference only.
Every percentage (published, in the marts, or from the cases) is computed by PostgreSQL with the dbt
macro ``bmmr_ratio`` that computes the models' rates: this module counts and lists, it divides nothing.

The figure compared is the *published* one (``published.bmmr_figures``, the month's latest version). The
cases are today's marts: when the marts have moved since publication (a late correction), the listing
says so and by how much, and the exit code is 1. Every figure of the month (both published periods, every
measure) is also written, case by case, to ``outputs/reports/bmmr-pack-<month>-cases.csv`` beside the
pack: an internal file (pseudonymous case references; not for publication).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from psycopg import sql

from complaints_warehouse import bmmr_measures, outputs
from complaints_warehouse.errors import ConfigError
from complaints_warehouse.reports import ReportUnavailable, reports_dir, rows
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.database import Connection

#: The published percentages: (numerator, denominator), each a count whose cases are listed.
RATIOS = bmmr_measures.MONTHLY_RATES
#: Sums of money: their cases are listed with the amount each contributes.
AMOUNTS = ("financial_remedies_gbp", "payments_gbp")
CSV_COLUMNS = (
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
)


class ExplainRefused(ConfigError, ValueError):
    """The figure asked about is not one the month published (unknown measure, period or cell): a wrong
    argument, exit 2 like a wrong setting."""


@dataclass
class Explanation:
    month: date
    version: int
    measure: str
    period: str
    directorate: str | None
    procedure_code: str | None
    kind: str  # count | amount | ratio
    published: Decimal | None
    from_cases: Decimal | None
    marts: Decimal | None
    cases: list[dict] = field(default_factory=list)
    csv_path: Path | None = None

    @property
    def matches(self) -> bool:
        return self.published == self.from_cases

    @property
    def moved(self) -> bool:
        """The marts no longer hold the published figure (a late correction since publication)."""
        return self.marts != self.published


def _published_version(conn, month: date) -> int:
    found = conn.execute(
        "select max(version) from published.bmmr_publications where report_month = %s", (month,)
    ).fetchone()[0]
    if found is None:
        raise ReportUnavailable(
            f"{month:%Y-%m} has not been published: explain traces published figures only. Publish it with "
            f"`complaints-warehouse publish --month {month:%Y-%m}`."
        )
    return found


#: The optional directorate and procedure of an explained figure, the same clause in every query.
_SCOPE = sql.SQL(
    " and (%(directorate)s::text is null or directorate = %(directorate)s)"
    " and (%(procedure)s::text is null or procedure_code = %(procedure)s)"
)


def _published_sum(conn, measure: str, scope: dict) -> Decimal | None:
    """The published figure, summed over the selected cells (None when no cell was published)."""
    total, cells = conn.execute(
        sql.SQL(
            "select sum(value), count(*) from published.bmmr_figures where report_month = %(month)s "
            "and version = %(version)s and measure = %(measure)s and period = %(period)s{scope}"
        ).format(scope=_SCOPE),
        {**scope, "measure": measure},
    ).fetchone()
    return (Decimal(total) if total is not None else Decimal(0)) if cells else None


def _ratios(conn, numerator: str, denominator: str, scope: dict) -> tuple:
    """A percentage three ways, each computed by PostgreSQL with the models' one ratio rule (the dbt macro
    ``bmmr_ratio``, as ``bmmr_measures.ratio_sql`` renders it): from the published counts, from today's
    marts.bmmr_monthly counts, and from the number of cases intermediate.bmmr_figure_cases lists for each.
    Each is the ratio of the *summed* counts of the selected cells (as the reporting models' rates are),
    so a selection of several directorates or procedures is never an average of their rates. ``numerator``
    and ``denominator`` are published measures' names (``RATIOS``), safe as columns."""
    ratio = bmmr_measures.ratio_sql
    columns = {"numerator": sql.Identifier(numerator), "denominator": sql.Identifier(denominator)}
    query = sql.SQL(
        "select (select {published} from published.bmmr_figures where version = %(version)s and {cells}), "
        "(select {marts} from marts.bmmr_monthly where {cells}), "
        "(select {cases} from intermediate.bmmr_figure_cases where {cells})"
    ).format(
        published=sql.SQL(
            ratio(
                "sum(value) filter (where measure = %(numerator)s)",
                "sum(value) filter (where measure = %(denominator)s)",
            )
        ),
        marts=sql.SQL(ratio("sum({numerator})", "sum({denominator})")).format(**columns),
        cases=sql.SQL(
            ratio(
                "count(*) filter (where measure = %(numerator)s)",
                "count(*) filter (where measure = %(denominator)s)",
            )
        ),
        cells=sql.SQL("report_month = %(month)s and period = %(period)s{scope}").format(scope=_SCOPE),
    )
    return conn.execute(query, {**scope, "numerator": numerator, "denominator": denominator}).fetchone()


def _marts_sum(conn, measure: str, scope: dict) -> Decimal | None:
    """The same figure in today's marts.bmmr_monthly (``measure`` is a published measure's name, checked
    against the published figures before it is used as a column)."""
    total, cells = conn.execute(
        sql.SQL(
            "select sum({measure}), count(*) from marts.bmmr_monthly where report_month = %(month)s "
            "and period = %(period)s{scope}"
        ).format(measure=sql.Identifier(measure), scope=_SCOPE),
        scope,
    ).fetchone()
    return (Decimal(total) if total is not None else Decimal(0)) if cells else None


def explain(
    target: Connection,
    month: date,
    measure: str,
    *,
    period: str = "month",
    directorate: str | None = None,
    procedure: str | None = None,
) -> Explanation:
    """The published figure and the cases behind it; raises ``ReportUnavailable`` for a month not
    published and ``ExplainRefused`` for a figure the month did not publish."""
    with database.connect(target, purpose="explain") as conn:
        version = _published_version(conn, month)
        published_measures = [
            r[0]
            for r in conn.execute(
                "select distinct measure from published.bmmr_figures where report_month = %s and version = %s "
                "order by 1",
                (month, version),
            )
        ]
        if measure not in published_measures:
            raise ExplainRefused(
                f"{measure!r} is not a published BMMR measure of {month:%Y-%m}; published measures: "
                f"{', '.join(published_measures)}"
            )
        scope = {
            "month": month,
            "version": version,
            "period": period,
            "directorate": directorate,
            "procedure": procedure,
        }
        cells = conn.execute(
            sql.SQL(
                "select count(*) from published.bmmr_figures where report_month = %(month)s "
                "and version = %(version)s and measure = %(measure)s and period = %(period)s{scope}"
            ).format(scope=_SCOPE),
            {**scope, "measure": measure},
        ).fetchone()[0]
        if not cells:
            periods = [
                r[0]
                for r in conn.execute(
                    "select distinct period from published.bmmr_figures where report_month = %s and version = %s",
                    (month, version),
                )
            ]
            raise ExplainRefused(
                f"{month:%Y-%m} version {version} published no {measure} for period {period}"
                f"{f', directorate {directorate!r}' if directorate else ''}"
                f"{f', procedure {procedure!r}' if procedure else ''} (published periods: "
                f"{', '.join(sorted(periods))}; see the BMMR rows for directorates and procedures)"
            )

        def figure(name: str, source: str) -> Decimal | None:
            return (
                _published_sum(conn, name, scope) if source == "published" else _marts_sum(conn, name, scope)
            )

        def cases_of(names: list[str]) -> list[dict]:
            return rows(
                conn,
                sql.SQL(
                    "select report_month, period, directorate, procedure_code, measure, case_reference, event, "
                    "event_key, event_month, value from intermediate.bmmr_figure_cases "
                    "where report_month = %(month)s and period = %(period)s and measure = any(%(names)s){scope} "
                    "order by measure, event_month, case_reference, event_key"
                ).format(scope=_SCOPE),
                {**scope, "names": names},
            )

        if measure in RATIOS:
            numerator, denominator = RATIOS[measure]
            cases = cases_of([numerator, denominator])
            published, marts, from_cases = _ratios(conn, numerator, denominator, scope)
            kind = "ratio"
        else:
            cases = cases_of([measure])
            kind = "amount" if measure in AMOUNTS else "count"
            published, marts = figure(measure, "published"), figure(measure, "marts")
            from_cases = (
                sum((Decimal(c["value"] or 0) for c in cases), Decimal(0))
                if kind == "amount"
                else Decimal(len(cases))
            )
            if kind == "amount" and marts is None:
                from_cases = None
        return Explanation(
            month, version, measure, period, directorate, procedure, kind, published, from_cases, marts, cases
        )


def write_month_csv(settings: Settings, target: Connection, month: date) -> Path:
    """Every published figure of ``month``, case by case, to ``bmmr-pack-<month>-cases.csv`` beside the
    pack (written whole to a temporary file, then renamed: never half a file)."""
    folder = reports_dir(settings)
    path = folder / f"bmmr-pack-{month:%Y-%m}-cases.csv"
    with database.connect(target, purpose="explain") as conn:
        version = _published_version(conn, month)
        cur = conn.execute(
            "select c.report_month, c.period, c.directorate, c.procedure_code, c.measure, c.case_reference, "
            "c.event, c.event_key, c.event_month, c.value from intermediate.bmmr_figure_cases c "
            "where c.report_month = %s and exists (select 1 from published.bmmr_figures p "
            "where p.report_month = c.report_month and p.version = %s and p.period = c.period "
            "and p.directorate = c.directorate and p.procedure_code = c.procedure_code and p.measure = c.measure) "
            "order by c.period, c.directorate, c.procedure_code, c.measure, c.event_month, c.case_reference, "
            "c.event_key",
            (month, version),
        )
        # Written whole or not at all, readable by its owner only (case references are not for
        # publication), every text cell safe in a spreadsheet: the warehouse's one writer of files.
        outputs.write_atomic(path, outputs.csv_text(CSV_COLUMNS, cur), mode=0o600)
    return path


def format_explanation(e: Explanation, limit: int | None = None) -> str:
    where = ", ".join(
        [
            f"directorate {e.directorate}" if e.directorate else "all directorates",
            f"procedure {e.procedure_code}" if e.procedure_code else "all procedures",
        ]
    )
    lines = [f"BMMR {e.month:%Y-%m} (published version {e.version}): {e.measure}, {e.period}, {where}"]
    if e.kind == "ratio":
        numerator, denominator = RATIOS[e.measure]
        counts = {n: sum(1 for c in e.cases if c["measure"] == n) for n in (numerator, denominator)}
        lines.append(
            f"A percentage: {numerator} / {denominator}; its cases: {counts[numerator]} of {counts[denominator]} "
            f"-> {_show(e.from_cases)}%"
        )
    lines.append(f"Published figure: {_show(e.published)}")
    lines.append(
        f"From its {len(e.cases)} case row(s): {_show(e.from_cases)}"
        + (" -- equals the published figure" if e.matches else " -- DIFFERS from the published figure")
    )
    if e.moved:
        lines.append(
            f"The marts have moved since publication: published {_show(e.published)}, the marts now say "
            f"{_show(e.marts)}. The cases listed are today's marts; see `complaints-warehouse restatements` "
            "and publish again to restate the month."
        )
    lines.append("")
    lines.append(
        "\t".join(
            (
                "case_reference",
                "event",
                "event_key",
                "event_month",
                "directorate",
                "procedure_code",
                "measure",
                "value",
            )
        )
    )
    shown = e.cases if limit is None else e.cases[:limit]
    for c in shown:
        lines.append(
            "\t".join(
                "" if v is None else str(outputs.safe_cell(v))  # as in the CSV
                for v in (
                    c["case_reference"],
                    c["event"],
                    c["event_key"],
                    f"{c['event_month']:%Y-%m}",
                    c["directorate"],
                    c["procedure_code"],
                    c["measure"],
                    _show(c["value"]),
                )
            )
        )
    if len(shown) < len(e.cases):
        lines.append(f"... and {len(e.cases) - len(shown)} more (all in the CSV)")
    if e.csv_path:
        lines.append(f"CSV (internal, every figure of the month): {e.csv_path}")
    return "\n".join(lines)


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, Decimal):
        value = value.normalize() if value == value.to_integral_value() else value
        return f"{value:f}"
    return str(value)
