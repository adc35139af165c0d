-- Every count and sum of money of the latest BMMR month (every period) equals what its cases in
-- bmmr_figure_cases add up to: the number of its rows for a count, the sum of their value for money.
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
{%- set measures = bmmr_count_columns() + ['financial_remedies_gbp', 'payments_gbp'] %}
with

figures as (
    select * from {{ ref('bmmr_monthly') }}
    where report_month = (select max(report_month) from {{ ref('bmmr_monthly') }})
),

published as (
    {%- for measure in measures %}
    select
        bmmr_key,
        '{{ measure }}' as measure,
        {{ measure }}::numeric as value
    from figures
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

cases as (
    select
        bmmr_key,
        measure,
        sum(value) as value
    from {{ ref('bmmr_figure_cases') }}
    where report_month = (select max(report_month) from {{ ref('bmmr_monthly') }})
    group by 1, 2
)

select
    published.bmmr_key,
    published.measure,
    published.value as figure,
    coalesce(cases.value, 0) as from_cases
from published
left join cases
    on
        published.bmmr_key = cases.bmmr_key
        and published.measure = cases.measure
where published.value <> coalesce(cases.value, 0)
