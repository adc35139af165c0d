-- The council's complaints KPIs against their targets, per month and financial year to date, with a RAG
-- rating: green when the target is met; amber when within 10 % of it; red beyond. Council-wide totals:
-- each KPI's numerator and denominator are summed over directorates and procedures before dividing.
with

bmmr as (
    select * from {{ ref('bmmr_monthly') }}
    where period in ('month', 'financial_year_to_date')
),

targets as (
    select * from {{ ref('kpi_targets') }}
),

measures as (
    {%- for column in bmmr_count_columns() %}
        select
            report_month,
            financial_year,
            period,
            '{{ column }}' as measure,
            sum({{ column }}) as measure_value
        from bmmr
        group by report_month, financial_year, period
        {{ 'union all' if not loop.last }}
    {%- endfor %}
),

scored as (
    select
        targets.kpi_code,
        targets.kpi_name,
        targets.target_pct,
        targets.higher_is_better,
        numerators.report_month,
        numerators.financial_year,
        numerators.period,
        numerators.measure_value as numerator,
        denominators.measure_value as denominator,
        {{ bmmr_ratio('numerators.measure_value', 'denominators.measure_value') }} as actual_pct
    from targets
    inner join measures as numerators
        on targets.numerator = numerators.measure
    inner join measures as denominators
        on
            targets.denominator = denominators.measure
            and numerators.report_month = denominators.report_month
            and numerators.period = denominators.period
),

final as (
    select
        (kpi_code || '|' || to_char(report_month, 'YYYY-MM') || '|' || period)::text as kpi_scorecard_key,
        kpi_code::text as kpi_code,
        kpi_name::text as kpi_name,
        report_month::date as report_month,
        financial_year::text as financial_year,
        period::text as period,
        numerator::int as numerator,
        denominator::int as denominator,
        actual_pct::numeric as actual_pct,
        target_pct::numeric as target_pct,
        higher_is_better::boolean as higher_is_better,
        ({{ bmmr_rag('actual_pct', 'target_pct', 'higher_is_better') }})::text as rag
    from scored
)

select * from final
