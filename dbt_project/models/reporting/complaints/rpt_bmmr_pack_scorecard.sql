-- The BMMR pack's KPI scorecard for every published month, from its latest published version: each KPI of
-- the seed kpi_targets for the month and the financial year to date, its numerator and denominator
-- summed council-wide, the actual (100 x numerator / denominator) and the RAG rating of kpi_scorecard
-- (macro bmmr_rag). A view over the published schema: a new version shows at once.
{{ config(materialized='view', schema='marts') }}
with

published as (
    select * from {{ source('published', 'bmmr_current') }}
),

targets as (
    select * from {{ ref('kpi_targets') }}
),

-- Council-wide sums of each measure, with outcomes recorded (the sum of the outcomes) beside them.
council as (
    select
        report_month,
        version,
        period,
        measure,
        sum(value) as measure_value
    from published
    group by report_month, version, period, measure
    union all
    select
        report_month,
        version,
        period,
        'outcomes_recorded' as measure,
        sum(value) as measure_value
    from published
    -- The outcome columns' names, one list (a long line once rendered).
    where measure in ({{ "'" ~ bmmr_outcome_columns() | join("', '") ~ "'" }})  -- noqa: LT05
    group by report_month, version, period
),

periods as (
    select distinct
        report_month,
        version,
        period
    from published
    where period in ('month', 'financial_year_to_date')
),

scored as (
    select
        targets.kpi_code,
        targets.kpi_name,
        targets.numerator as numerator_measure,
        targets.denominator as denominator_measure,
        targets.target_pct,
        targets.higher_is_better,
        periods.report_month,
        periods.version,
        periods.period,
        coalesce(numerators.measure_value, 0) as numerator,
        coalesce(denominators.measure_value, 0) as denominator
    from periods
    cross join targets
    left join council as numerators
        on
            periods.report_month = numerators.report_month
            and periods.period = numerators.period
            and targets.numerator = numerators.measure
    left join council as denominators
        on
            periods.report_month = denominators.report_month
            and periods.period = denominators.period
            and targets.denominator = denominators.measure
),

final as (
    select
        (kpi_code || '|' || to_char(report_month, 'YYYY-MM') || '|' || period)::text
            as rpt_bmmr_pack_scorecard_key,
        kpi_code::text as kpi_code,
        kpi_name::text as kpi_name,
        report_month::date as report_month,
        ({{ financial_year('report_month') }})::text as financial_year,
        version::int as version,  -- noqa: RF04
        period::text as period,
        numerator_measure::text as numerator_measure,
        denominator_measure::text as denominator_measure,
        numerator::numeric as numerator,
        denominator::numeric as denominator,
        {{ bmmr_ratio('numerator', 'denominator') }}::numeric as actual_pct,
        target_pct::numeric as target_pct,
        higher_is_better::boolean as higher_is_better,
        (
            {{ bmmr_rag(bmmr_ratio('numerator', 'denominator'), 'target_pct', 'higher_is_better') }}
        )::text as rag
    from scored
)

select * from final
