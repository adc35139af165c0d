-- The monthly BMMR (Business Management and Monitoring Report) per month, directorate and procedure,
-- three rows each: the month itself, the financial year to date (April to the month), and the same
-- month last year. Percentages are recomputed from each row's own counts (never averaged), and are
-- empty when there is nothing to divide by.
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
{%- set counts = bmmr_count_columns() %}
{%- set amounts = bmmr_amount_columns() | map('first') | list %}
with

monthly as (
    select * from {{ ref('int_bmmr__monthly_counts') }}
),

-- Every month from the first with any activity to the last, for every directorate and procedure seen:
-- a quiet month still gets its year-to-date row.
months as (
    select generate_series(min(report_month), max(report_month), interval '1 month')::date as report_month
    from monthly
),

segments as (
    select distinct
        directorate,
        procedure_code
    from monthly
),

spine as (
    select
        months.report_month,
        segments.directorate,
        segments.procedure_code,
        -- The first month of the report month's financial year (April).
        {{ financial_year_start_month('months.report_month') }} as financial_year_start_month
    from months
    cross join segments
),

by_period as (
    {%- for period in ['month', 'financial_year_to_date', 'same_month_last_year'] %}
    select
        spine.report_month,
        spine.directorate,
        spine.procedure_code,
        '{{ period }}' as period,
        {%- for column in counts + amounts %}
        coalesce(sum(monthly.{{ column }}), 0) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from spine
    left join monthly
        on
            spine.directorate = monthly.directorate
            and spine.procedure_code = monthly.procedure_code
            {%- if period == 'month' %}
            and spine.report_month = monthly.report_month
            {%- elif period == 'financial_year_to_date' %}
            and monthly.report_month between spine.financial_year_start_month and spine.report_month
            {%- else %}
            and (spine.report_month - interval '1 year')::date = monthly.report_month
            {%- endif %}
    group by 1, 2, 3, 4
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        (
            to_char(report_month, 'YYYY-MM') || '|' || period || '|' || directorate || '|' || procedure_code
        )::text as bmmr_key,
        report_month::date as report_month,
        ({{ financial_year('report_month') }})::text as financial_year,
        period::text as period,
        directorate::text as directorate,
        procedure_code::text as procedure_code,
        {%- for column in counts %}
        {{ column }}::int as {{ column }},
        {%- endfor %}
        {%- for column in amounts %}
        {{ column }}::numeric(12, 2) as {{ column }},
        {%- endfor %}
        {%- for rate, numerator, denominator in bmmr_rates(as_published=true) %}
        {{ bmmr_ratio(numerator, denominator) }}::numeric as {{ rate }}{{ ',' if not loop.last }}
        {%- endfor %}
    from by_period
)

select * from final
