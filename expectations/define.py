"""The expectations the warehouse is validated against, written into the file data context in ``gx/``.

The context under ``expectations/gx/`` is committed: suites, validation definitions and the checkpoint
are reviewable JSON. This module is how they are written; run it after changing a suite::

    make expectations        # or: python expectations/define.py

The data source's connection string is the placeholder ``${GX_WAREHOUSE_URL}``, filled in at run time
from the project's settings (``validate.gx_context``: GX's runtime environment, not the process's), so
no credentials are stored here. Every check runs inside PostgreSQL.
Writing needs a built warehouse (GX checks that the tables exist): run ``make run`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from complaints_warehouse.bmmr_measures import OUTCOMES, RATES, cells_sql

CONTEXT_ROOT = Path(__file__).resolve().parent
# GX substitutes {batch} with "(select ...) as subselect": give it a name in a CTE, never an alias.
DATA_SOURCE = "warehouse"
CHECKPOINT = "nightly"
#: Checkpoint -> the suites it runs (None: every suite). The Ombudsman DAG validates only what it builds.
CHECKPOINTS = {
    CHECKPOINT: None,
    "ombudsman": ("raw_loads_reconcile", "ombudsman_statistics", "ombudsman_annual_statistics_fact"),
}


@dataclass(frozen=True)
class Rows:
    """A check written as SQL that returns the rows breaking it (none when all is well)."""

    description: str
    query: str


@dataclass(frozen=True)
class Suite:
    name: str
    schema: str
    table: str
    description: str
    checks: tuple


def _raw_rows_per_batch_query() -> str:
    """Loaded batches whose raw rows (across every raw table the loader writes) differ from the ledger:
    a batch appends its new rows (loaded less unchanged) and a tombstone per key deleted at source;
    retention purges delete some of them since, and count them in the ledger (``rows_purged``)."""
    from complaints_warehouse.load import SOURCES

    # Table names come from the contracts in code, never from input.
    counts = " union all ".join(
        f"select _batch_id, count(*) as n from {t.raw_schema}.{t.name} group by 1"
        for tables in SOURCES.values()
        for t in tables
    )
    return (
        "with b as (select * from {batch}) "
        "select b.batch_id, b.table_name, b.rows_loaded, b.rows_unchanged, b.rows_deleted, b.rows_purged, "
        "coalesce(r.n, 0) as raw_rows from b "
        "left join (" + counts + ") r on r._batch_id = b.batch_id "
        "where b.status = 'loaded' "
        "and b.rows_loaded - coalesce(b.rows_unchanged, 0) + coalesce(b.rows_deleted, 0) "
        "- coalesce(b.rows_purged, 0) <> coalesce(r.n, 0)"
    )


def _bmmr_cells(relation: str) -> str:
    """The BMMR rows of ``relation`` as one row per figure (measure, value): checks then apply to every
    measure, including ones added later, without listing columns."""
    return (
        f"select r.report_month, r.directorate, r.procedure_code, r.period, kv.key as measure, "
        f"kv.value::numeric as value from {cells_sql(relation, 'r')}"
    )


def _recomputed(description: str, recompute: str, measures: tuple[str, ...]) -> Rows:
    """BMMR month cells that differ from the same figures recomputed from the facts by ``recompute``
    (a query per month, directorate and procedure_code), written apart from the dbt models on purpose."""
    differs = " or ".join(f"coalesce(p.{m}, 0) <> coalesce(r.{m}, 0)" for m in measures)
    shown = ", ".join(f"p.{m} as published_{m}, r.{m} as recomputed_{m}" for m in measures)
    return Rows(
        description,
        "with b as (select * from {batch}), "
        f"published as (select report_month, directorate, procedure_code, {', '.join(measures)} "
        "from b where period = 'month'), "
        f"recomputed as ({recompute}) "
        f"select report_month, directorate, procedure_code, {shown} "
        "from published p full join recomputed r using (report_month, directorate, procedure_code) "
        f"where {differs}",
    )


def _figure_cases_query() -> str:
    """Month cells (counts and sums of money, not percentages) of the last 25 months whose cases in
    intermediate.bmmr_figure_cases do not add up to them. Measures are read from the row, so a figure added to
    the BMMR without its cases fails here.

    Those 25 months are every month the last thirteen months' figures take events from: their own, their
    financial year to date (from April, at most eleven months before) and the same month last year (twelve
    before). The periods are their months added up (bmmr_totals checks both, on bmmr_monthly's own rows), so
    every figure of the last thirteen months, of every period, is its cases. Listing the periods' cases
    themselves would list each event up to thirteen times over (at national scale, 20 million rows a night);
    the view's joins of the periods are checked, for the latest month, by the nightly dbt test
    assert_bmmr_figures_are_their_cases."""
    months = "(select max(report_month) from b) - interval '25 months'"
    return (
        "with b as (select * from {batch}), "
        f"figures as (select r.bmmr_key, kv.key as measure, kv.value::numeric as value from {cells_sql('b', 'r')} "
        f"where r.period = 'month' and r.report_month > {months} and right(kv.key, 4) <> '_pct'), "
        "cases as (select bmmr_key, measure, count(*) as cases, coalesce(sum(value), 0) as amount "
        # The bound on event_month (the same as report_month for the month itself) reaches the view's scans
        # of the facts; the months' joins alone do not.
        "from intermediate.bmmr_figure_cases where period = 'month' "
        f"and report_month > {months} and event_month > {months} group by 1, 2) "
        "select f.bmmr_key, f.measure, f.value as figure, coalesce(c.cases, 0) as cases, "
        "coalesce(c.amount, 0) as amount from figures f left join cases c using (bmmr_key, measure) "
        "where f.value <> case when right(f.measure, 4) = '_gbp' then coalesce(c.amount, 0) "
        "else coalesce(c.cases, 0) end"
    )


def _outcomes_in() -> str:
    return ", ".join(f"'{m}'" for m in OUTCOMES)


def _rpt_figures(relation: str, keys: tuple[str, ...], other: tuple[str, ...] = ()) -> str:
    """A reporting model's figures, one row per (its ``keys``, measure, value): every column but the keys,
    the ``other`` columns that are not figures, and the rates, so a measure added later is checked too."""
    return (
        f"select {', '.join(f'r.{k}' for k in keys)}, kv.key as measure, kv.value::numeric as value "
        f"from {cells_sql(relation, 'r', drop=(*keys, *other, *RATES))}"
    )


def _rates_query() -> str:
    """Rows of the pack's reporting models whose rate is not 100 x numerator / denominator to one decimal
    (none for x / 0), the rule written here apart from the models' macro on purpose."""
    parts = []
    for relation, key in (
        ("b", "report_month::text"),
        ("marts.rpt_bmmr_pack_figures", "rpt_bmmr_pack_figures_key"),
    ):
        for rate, (numerator, denominator) in RATES.items():
            recomputed = f"round(100.0 * {numerator} / nullif({denominator}, 0), 1)"
            parts.append(
                f"select '{relation}' as model, {key} as row_key, '{rate}' as rate, {rate} as shown, "
                f"{recomputed} as recomputed from {relation} where {rate} is distinct from {recomputed}"
            )
    return "with b as (select * from {batch}) " + " union all ".join(parts)


def _trend_query() -> str:
    """Months of the pack's trend (rpt_bmmr_provisional_months) whose figures are not bmmr_monthly's month
    cells summed over directorates and procedures (outcomes recorded: the outcomes'), or months missing."""
    return (
        "with b as (select * from {batch}), "
        f"shown as ({_rpt_figures('b', ('report_month',), ('financial_year',))}), "
        f"bmmr as (select r.report_month, kv.key as measure, kv.value::numeric as value "
        f"from {cells_sql('marts.bmmr_monthly', 'r')} where r.period = 'month' and right(kv.key, 4) <> '_pct'), "
        "expected as (select report_month, measure, sum(value) as value from bmmr group by 1, 2 "
        "union all select report_month, 'outcomes_recorded', sum(value) from bmmr "
        f"where measure in ({_outcomes_in()}) group by 1) "
        "select report_month, measure, s.value as shown, e.value as from_bmmr "
        "from shown s full join expected e using (report_month, measure) where s.value is distinct from e.value"
    )


def _pack_published_query() -> str:
    """Figures of rpt_bmmr_pack_figures (the council and each directorate, month and year to date) that are
    not the published cells of the month's latest version summed, or published cells it does not show."""
    keys = ("report_month", "period", "scope", "directorate")
    return (
        "with shown as (select report_month, period, scope, coalesce(directorate, '') as directorate, measure, "
        "value from ("
        + _rpt_figures(
            "marts.rpt_bmmr_pack_figures",
            keys,
            ("rpt_bmmr_pack_figures_key", "financial_year", "financial_year_start_month", "version"),
        )
        + ") f), "
        "published as (select report_month, period, directorate, measure, value from published.bmmr_current "
        "where right(measure, 4) <> '_pct'), "
        "cells as (select report_month, period, 'council' as scope, '' as directorate, measure, sum(value) as value "
        "from published group by 1, 2, 5 union all "
        "select report_month, period, 'directorate', directorate, measure, sum(value) from published "
        "group by 1, 2, 4, 5), "
        "expected as (select * from cells union all select report_month, period, scope, directorate, "
        f"'outcomes_recorded', sum(value) from cells where measure in ({_outcomes_in()}) group by 1, 2, 3, 4) "
        "select report_month, period, scope, directorate, measure, s.value as shown, e.value as published "
        "from shown s full join expected e using (report_month, period, scope, directorate, measure) "
        # A measure a month was published without (added to the BMMR later) is shown as 0: not a difference.
        "where coalesce(s.value, 0) <> coalesce(e.value, 0)"
    )


def _suites():
    import great_expectations as gx

    ge = gx.expectations
    return (
        Suite(
            name="raw_loads_reconcile",
            schema="audit",
            table="load_batches",
            description="Every load is accounted for: rows in = rows loaded + rows quarantined.",
            checks=(
                Rows(
                    "Every loaded batch reconciles: rows in = rows loaded + rows quarantined",
                    "select * from {batch} where status = 'loaded' "
                    "and rows_in is distinct from rows_loaded + rows_quarantined",
                ),
                Rows(
                    "Every loaded batch's raw rows are its new rows plus its deletions, as the ledger says",
                    _raw_rows_per_batch_query(),
                ),
                Rows(
                    "Every batch's quarantined rows are kept in audit.quarantine, less those retention purged",
                    "with b as (select * from {batch}), q as ("
                    "select batch_id, quarantine_id from audit.quarantine "
                    "union all select batch_id, quarantine_id from restricted.quarantine) "
                    "select b.batch_id, b.rows_quarantined, b.quarantined_purged, count(q.quarantine_id) as kept "
                    "from b left join q on q.batch_id = b.batch_id "
                    "where b.status = 'loaded' group by b.batch_id, b.rows_quarantined, b.quarantined_purged "
                    "having count(q.quarantine_id) <> b.rows_quarantined - coalesce(b.quarantined_purged, 0)",
                ),
            ),
        ),
        Suite(
            name="representations_totals",
            schema="marts",
            table="fct_representations",
            description="The representations fact counts every case the case system delivered, once.",
            checks=(
                ge.ExpectTableRowCountToBeBetween(min_value=1),
                Rows(
                    "Every case of every source system appears exactly once in the fact, and no other",
                    "with f as (select * from {batch}) "
                    "select coalesce(s.representation_key, f.representation_key) as representation_key "
                    "from intermediate.int_representations__unified s "
                    "full join f on f.representation_key = s.representation_key "
                    "where s.representation_key is null or f.representation_key is null",
                ),
                Rows(
                    "Stage counts in the fact add up to the council stages recorded for those cases",
                    "with f as (select * from {batch}), totals as ("
                    "select (select coalesce(sum(stage_count), 0) from f) as fact_total, "
                    "(select count(*) from staging.stg_case_system__stages s where s.stage_number <= 3 and exists ("
                    "select 1 from f where f.representation_key = s.representation_key)) as staged_total) "
                    "select * from totals where fact_total <> staged_total",
                ),
                Rows(
                    "No case closes before it was received",
                    "select * from {batch} where closed_date < received_date",
                ),
                ge.ExpectColumnValuesToBeBetween(column="highest_stage", min_value=0, max_value=3),
            ),
        ),
        Suite(
            name="facts_integrity",
            schema="marts",
            table="fct_representations",
            description="The facts hold each case, stage, remedy and payment once, in date order, with no negative money.",
            checks=(
                Rows(
                    "Every fact's natural key is unique: a case, stage, remedy or payment is counted once",
                    "with f as (select * from {batch}) "
                    "select 'fct_representations' as fact, source_system || ':' || representation_id as natural_key, "
                    "count(*) as n from f group by 1, 2 having count(*) > 1 "
                    "union all select 'fct_complaint_stages', representation_key || ':' || stage_code, count(*) "
                    "from marts.fct_complaint_stages group by 1, 2 having count(*) > 1 "
                    "union all select 'fct_remedies', source_system || ':' || remedy_id, count(*) "
                    "from marts.fct_remedies group by 1, 2 having count(*) > 1 "
                    "union all select 'fct_payments', source_system || ':' || payment_id, count(*) "
                    "from marts.fct_payments group by 1, 2 having count(*) > 1",
                ),
                Rows(
                    "Dates are in order: no stage opens before its case was received or is answered before it opened",
                    "with f as (select * from {batch}) "
                    "select s.stage_key, f.received_date, s.opened_date, s.responded_date "
                    "from marts.fct_complaint_stages s join f on f.representation_key = s.representation_key "
                    "where s.opened_date < f.received_date or s.responded_date < s.opened_date",
                ),
                Rows(
                    "Money is never negative: payments, financial remedies and investigation costs",
                    # The payments, remedies and stages of the fact's cases.
                    "with f as (select representation_key from {batch}) "
                    "select 'fct_payments' as fact, payment_key as key, amount_gbp from marts.fct_payments "
                    "join f using (representation_key) where amount_gbp < 0 "
                    "union all select 'fct_remedies', remedy_key, amount_gbp from marts.fct_remedies "
                    "join f using (representation_key) where amount_gbp < 0 "
                    "union all select 'fct_complaint_stages', stage_key, investigation_cost_gbp "
                    "from marts.fct_complaint_stages join f using (representation_key) "
                    "where investigation_cost_gbp < 0",
                ),
                Rows(
                    "Every case's council stages are in order: a later stage never opens before an earlier one",
                    "with f as (select representation_key from {batch}), "
                    "stages as (select representation_key, stage_number, opened_date, "
                    "lag(opened_date) over (partition by representation_key order by stage_number) as previous_opened "
                    "from marts.fct_complaint_stages join f using (representation_key) where stage_number <= 3) "
                    "select * from stages where opened_date < previous_opened",
                ),
            ),
        ),
        Suite(
            name="bmmr_totals",
            schema="marts",
            table="bmmr_monthly",
            description="The BMMR adds up: months, year to date, parts and wholes, and every month once.",
            checks=(
                Rows(
                    "Each month's directorates add up to the council's total received and closed in the fact",
                    "with b as (select * from {batch}), "
                    "report as (select report_month, sum(representations_received) as received, "
                    "sum(representations_closed) as closed from b where period = 'month' group by 1), "
                    "council as (select date_trunc('month', d)::date as report_month, count(*) filter (where kind = 'r') as received, "
                    "count(*) filter (where kind = 'c') as closed from ("
                    "select received_date as d, 'r' as kind from marts.fct_representations union all "
                    "select closed_date, 'c' from marts.fct_representations where status = 'closed' and closed_date is not null"
                    ") e group by 1) "
                    "select * from report full join council using (report_month) "
                    "where coalesce(report.received, 0) <> coalesce(council.received, 0) "
                    "or coalesce(report.closed, 0) <> coalesce(council.closed, 0)",
                ),
                Rows(
                    "Every financial-year-to-date figure is the sum of its months from April",
                    "with b as (select * from {batch}), cells as (" + _bmmr_cells("b") + "), "
                    "months as (select * from cells where period = 'month' and right(measure, 4) <> '_pct'), "
                    "ytd as (select * from cells where period = 'financial_year_to_date' and right(measure, 4) <> '_pct') "
                    "select ytd.report_month, ytd.directorate, ytd.procedure_code, ytd.measure, ytd.value as year_to_date, "
                    "sum(months.value) as months_sum from ytd left join months "
                    "on months.directorate = ytd.directorate and months.procedure_code = ytd.procedure_code "
                    "and months.measure = ytd.measure and months.report_month <= ytd.report_month "
                    "and months.report_month >= make_date(extract(year from ytd.report_month - interval '3 months')::int, 4, 1) "
                    "group by 1, 2, 3, 4, 5 having ytd.value <> coalesce(sum(months.value), 0)",
                ),
                Rows(
                    "Every same-month-last-year figure is that month's figure a year before (none when the "
                    "month is before the first)",
                    "with b as (select * from {batch}), cells as (" + _bmmr_cells("b") + "), "
                    "months as (select * from cells where period = 'month' and right(measure, 4) <> '_pct'), "
                    "last_year as (select * from cells where period = 'same_month_last_year' "
                    "and right(measure, 4) <> '_pct') "
                    "select l.report_month, l.directorate, l.procedure_code, l.measure, l.value as last_year, "
                    "m.value as month_before from last_year l left join months m "
                    "on m.directorate = l.directorate and m.procedure_code = l.procedure_code "
                    "and m.measure = l.measure and m.report_month = (l.report_month - interval '1 year')::date "
                    "where l.value <> coalesce(m.value, 0)",
                ),
                Rows(
                    "Parts never exceed their wholes: within timescale <= responded, complaints <= representations, "
                    "outcomes <= stages responded, Ombudsman upheld <= decisions",
                    "select bmmr_key from {batch} where stage_0_within_timescale > stage_0_responded "
                    "or stage_1_within_timescale > stage_1_responded or stage_2_within_timescale > stage_2_responded "
                    "or stage_3_within_timescale > stage_3_responded "
                    "or complaints_received + compliments_received > representations_received "
                    "or complaints_closed > representations_closed or ombudsman_upheld > ombudsman_decisions "
                    "or outcome_upheld + outcome_not_upheld + outcome_withdrawn_resolved + outcome_not_pursued "
                    "> stage_0_responded + stage_1_responded + stage_2_responded + stage_3_responded",
                ),
                Rows(
                    "Percentages are within 0-100 (the escalation rate, escalations per 100 Stage 1 answers, "
                    "is only never negative)",
                    "select bmmr_key from {batch} where stage_0_within_timescale_pct not between 0 and 100 "
                    "or stage_1_within_timescale_pct not between 0 and 100 "
                    "or stage_2_within_timescale_pct not between 0 and 100 "
                    "or stage_3_within_timescale_pct not between 0 and 100 or escalation_rate_stage_1_to_2_pct < 0",
                ),
                Rows(
                    "Every month is present once per directorate, procedure and period, none missing or duplicated",
                    "with b as (select * from {batch}), "
                    "months as (select generate_series(min(report_month), max(report_month), interval '1 month')::date "
                    "as report_month from b), "
                    "segments as (select distinct directorate, procedure_code, period from b), "
                    "counted as (select report_month, directorate, procedure_code, period, count(*) as n from b group by 1, 2, 3, 4) "
                    "select months.report_month, segments.*, coalesce(counted.n, 0) as rows_found "
                    "from months cross join segments left join counted using (report_month, directorate, procedure_code, period) "
                    "where coalesce(counted.n, 0) <> 1",
                ),
            ),
        ),
        Suite(
            name="bmmr_recomputed",
            schema="marts",
            table="bmmr_monthly",
            description="Each BMMR month figure equals the same figure recomputed from the facts by independent SQL.",
            checks=(
                _recomputed(
                    "BMMR received (all, complaints, compliments) equals the facts' cases received in the month",
                    "select date_trunc('month', received_date)::date as report_month, directorate, procedure_code, "
                    "count(*) as representations_received, "
                    "count(*) filter (where representation_type = 'complaint') as complaints_received, "
                    "count(*) filter (where representation_type = 'compliment') as compliments_received "
                    "from marts.fct_representations group by 1, 2, 3",
                    ("representations_received", "complaints_received", "compliments_received"),
                ),
                _recomputed(
                    "BMMR closed (all, complaints) equals the facts' cases closed in the month",
                    "select date_trunc('month', closed_date)::date as report_month, directorate, procedure_code, "
                    "count(*) as representations_closed, "
                    "count(*) filter (where representation_type = 'complaint') as complaints_closed "
                    "from marts.fct_representations where status = 'closed' and closed_date is not null group by 1, 2, 3",
                    ("representations_closed", "complaints_closed"),
                ),
                _recomputed(
                    "BMMR stages responded and within timescale equal the facts' stages answered in the month",
                    "select date_trunc('month', responded_date)::date as report_month, directorate, procedure_code, "
                    + ", ".join(
                        f"count(*) filter (where stage_number = {n}) as stage_{n}_responded, "
                        f"count(*) filter (where stage_number = {n} and is_within_timescale) as stage_{n}_within_timescale"
                        for n in range(4)
                    )
                    + " from marts.fct_complaint_stages where stage_number <= 3 and responded_date is not null "
                    "group by 1, 2, 3",
                    tuple(f"stage_{n}_{m}" for n in range(4) for m in ("responded", "within_timescale")),
                ),
                _recomputed(
                    "BMMR payments (count and GBP) equal the facts' payments made in the month",
                    "select date_trunc('month', payment_date)::date as report_month, directorate, procedure_code, "
                    "count(*) as payments, sum(amount_gbp) as payments_gbp from marts.fct_payments group by 1, 2, 3",
                    ("payments", "payments_gbp"),
                ),
            ),
        ),
        Suite(
            name="bmmr_figure_cases",
            schema="marts",
            table="bmmr_monthly",
            description=(
                "Every BMMR figure is explained by its cases (complaints-warehouse explain): each count equals "
                "the number of its cases in intermediate.bmmr_figure_cases, each sum of money their amounts."
            ),
            checks=(
                Rows(
                    "Every month's count of the last 25 months (the months the last thirteen months' periods add "
                    "up) equals the number of its cases in bmmr_figure_cases, and every sum of money the sum of "
                    "their amounts",
                    _figure_cases_query(),
                ),
            ),
        ),
        Suite(
            name="reporting_totals",
            schema="marts",
            table="rpt_bmmr_provisional_months",
            description=(
                "The reporting models the reports render (rpt_) add up: the BMMR pack's trend to bmmr_monthly, "
                "its figures and scorecard to the published cells, its rates to their counts, and the annual "
                "report's representations received to the BMMR's months."
            ),
            checks=(
                Rows(
                    "The BMMR pack's trend (rpt_bmmr_provisional_months) is bmmr_monthly's months summed over "
                    "directorates and procedures, every month and figure",
                    _trend_query(),
                ),
                Rows(
                    "The BMMR pack's figures (rpt_bmmr_pack_figures) are the published cells summed, for the "
                    "council and each directorate, month and year to date",
                    _pack_published_query(),
                ),
                Rows(
                    "The BMMR pack's scorecard (rpt_bmmr_pack_scorecard) takes its numerators and denominators "
                    "from the council's pack figures, and its actual is their ratio",
                    "select s.rpt_bmmr_pack_scorecard_key, s.numerator, s.denominator, s.actual_pct "
                    "from marts.rpt_bmmr_pack_scorecard s left join marts.rpt_bmmr_pack_figures f "
                    "on f.report_month = s.report_month and f.period = s.period and f.scope = 'council' "
                    "where s.numerator is distinct from (to_jsonb(f) ->> s.numerator_measure)::numeric "
                    "or s.denominator is distinct from (to_jsonb(f) ->> s.denominator_measure)::numeric "
                    "or s.actual_pct is distinct from round(100.0 * s.numerator / nullif(s.denominator, 0), 1)",
                ),
                Rows(
                    "Every rate of the BMMR pack's trend and figures is its numerator / denominator, "
                    "to one decimal",
                    _rates_query(),
                ),
                Rows(
                    "The annual report's representations received in a year (rpt_annual_report, each procedure "
                    "and all) are the BMMR's months of that financial year",
                    "with annual as (select financial_year, procedure_code, sum(this_year) as received "
                    "from marts.rpt_annual_report where section = '1 representations received' group by 1, 2), "
                    "months as (select financial_year, procedure_code, representations_received "
                    "from marts.bmmr_monthly where period = 'month'), "
                    "bmmr as (select financial_year, procedure_code, sum(representations_received) as received "
                    "from months group by 1, 2 union all "
                    "select financial_year, 'all', sum(representations_received) from months group by 1) "
                    "select financial_year, procedure_code, a.received as annual_report, b.received as bmmr "
                    "from annual a full join bmmr b using (financial_year, procedure_code) "
                    "where coalesce(a.received, 0) <> coalesce(b.received, 0)",
                ),
            ),
        ),
        Suite(
            name="ombudsman_statistics",
            schema="staging",
            table="stg_ombudsman__annual_statistics",
            description="The Ombudsman's published rates agree with the counts they are rates of.",
            checks=(
                Rows(
                    "Upheld never exceeds detailed investigations",
                    "select * from {batch} where upheld > detailed_investigations",
                ),
                Rows(
                    "The published uphold rate equals upheld / detailed investigations, rounded to whole percent",
                    "select authority_name, financial_year, published_uphold_rate_pct, "
                    "round(100.0 * upheld / detailed_investigations) as recomputed from {batch} "
                    "where detailed_investigations > 0 "
                    "and published_uphold_rate_pct <> round(100.0 * upheld / detailed_investigations)",
                ),
                Rows(
                    "A year with no detailed investigations has no uphold rate (not zero)",
                    "select * from {batch} where detailed_investigations = 0 and published_uphold_rate_pct is not null",
                ),
                Rows(
                    "The published satisfactory remedy rate equals satisfactory remedies / upheld, rounded",
                    "select authority_name, financial_year from {batch} where upheld > 0 "
                    "and published_satisfactory_remedy_rate_pct <> round(100.0 * satisfactory_remedies / upheld)",
                ),
            ),
        ),
        Suite(
            name="ombudsman_annual_statistics_fact",
            schema="marts",
            table="fct_ombudsman_annual_statistics",
            description="The Ombudsman fact reproduces every published rate and matches every council-year.",
            checks=(
                Rows(
                    "Every published rate (uphold, satisfactory remedy, upheld per 100,000) equals its recomputation",
                    "select authority_year_key, published_uphold_rate_pct, recomputed_uphold_rate_pct, "
                    "published_satisfactory_remedy_rate_pct, recomputed_satisfactory_remedy_rate_pct, "
                    "published_upheld_per_100k, recomputed_upheld_per_100k from {batch} where has_rate_mismatch",
                ),
                Rows(
                    "Every published upheld per 100,000 residents has an ONS population to check it against "
                    "(none: 'no population')",
                    "select authority_year_key, population_mid_year, published_upheld_per_100k from {batch} "
                    "where upheld_per_100k_check = 'no population' and published_upheld_per_100k is not null",
                ),
                Rows(
                    "A year with no detailed investigations has no uphold rate, published or recomputed",
                    "select authority_year_key from {batch} where detailed_investigations = 0 "
                    "and (published_uphold_rate_pct is not null or recomputed_uphold_rate_pct is not null)",
                ),
                Rows(
                    "Every similar-authority average the Ombudsman published equals its recomputation from the "
                    "group's councils, within the published rounding, where the statistics hold the whole group "
                    "(ombudsman_similar_authority_averages: differs, no population, published values disagree)",
                    "select average_key, councils_in_group, published_average, recomputed_unrounded, recomputation "
                    "from marts.ombudsman_similar_authority_averages "
                    "where recomputation in ('differs', 'no population', 'published values disagree')",
                ),
                Rows(
                    "Every staged council-year is in the fact, matched to exactly one authority",
                    "with f as (select * from {batch}) "
                    "select s.authority_year_key from staging.stg_ombudsman__annual_statistics s "
                    "where not exists (select 1 from f where f.published_authority_name = s.authority_name "
                    "and f.financial_year = s.financial_year)",
                ),
            ),
        ),
    )


def write_context(target, root: Path = CONTEXT_ROOT):
    """Create or update the data source, suites, validation definitions and checkpoint in ``root/gx``,
    checked against the built warehouse ``target`` (a ``database.Connection``)."""
    import great_expectations as gx

    from complaints_warehouse.gx_checks import UnexpectedRowsOnceExpectation
    from complaints_warehouse.validate import GX_URL_VARIABLE, gx_context

    context = gx_context(root, target)
    source = context.data_sources.add_or_update_sql(
        name=DATA_SOURCE, connection_string=f"${{{GX_URL_VARIABLE}}}"
    )
    definitions = []
    for suite_def in _suites():
        asset_name = f"{suite_def.schema}.{suite_def.table}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_table_asset(
                name=asset_name, table_name=suite_def.table, schema_name=suite_def.schema
            )
        try:
            batch = asset.get_batch_definition("whole_table")
        except KeyError:
            batch = asset.add_batch_definition_whole_table("whole_table")
        suite = gx.ExpectationSuite(name=suite_def.name, meta={"description": suite_def.description})
        for check in suite_def.checks:
            if isinstance(check, Rows):
                check = UnexpectedRowsOnceExpectation(
                    unexpected_rows_query=check.query, description=check.description
                )
            suite.add_expectation(check)
        suite = context.suites.add_or_update(suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite_def.name, data=batch, suite=suite)
            )
        )
    for name, suites in CHECKPOINTS.items():
        context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[d for d in definitions if suites is None or d.name in suites],
                # No UpdateDataDocsAction: it rebuilds the site (index and assets) once per suite;
                # validate.run_checkpoint builds it once per run instead.
                actions=[],
                result_format={"result_format": "COMPLETE", "partial_unexpected_count": 20},
            )
        )
    return context


if __name__ == "__main__":
    # GX checks the connection and the tables while it writes: point it at a built warehouse.
    from complaints_warehouse.settings import load_settings
    from complaints_warehouse.warehouse import database

    write_context(database.resolve(load_settings()))
    print(f"Wrote the Great Expectations context in {CONTEXT_ROOT / 'gx'}")
