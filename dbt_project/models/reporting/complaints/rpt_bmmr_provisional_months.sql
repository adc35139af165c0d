-- The council's BMMR figures of every month as today's warehouse has them (marts.bmmr_monthly, period
-- month, summed over directorates and procedures), with outcomes recorded and the rates: the BMMR pack's
-- trend draws a month from here only when it was never published (labelled "not published").
{{ config(materialized='table', schema='marts') }}
-- noqa: disable=LT02
with

bmmr as (
    select * from {{ ref('bmmr_monthly') }}
    where period = 'month'
),

summed as (
    select
        report_month,
        {%- for column in bmmr_count_columns() + (bmmr_amount_columns() | map('first') | list) %}
        sum({{ column }})::numeric as {{ column }},
        {%- endfor %}
        sum(
            {%- for column in bmmr_outcome_columns() %}
            {{ column }}{{ ' +' if not loop.last }}
            {%- endfor %}
        )::numeric as outcomes_recorded
    from bmmr
    group by report_month
),

final as (
    select
        report_month::date as report_month,
        ({{ financial_year('report_month') }})::text as financial_year,
        {{ bmmr_figure_columns() }}
    from summed
)

select * from final
