-- MetricFlow's time spine: one row per day of the calendar (dim_date), with the UK financial year and
-- quarter as custom granularities, so a metric can be asked for by day, month or financial year and a
-- period with nothing in it still has its row (docs/bi.md).
with

calendar as (
    select * from {{ ref('dim_date') }}
),

final as (
    select
        date_day::date as date_day,
        financial_year::text as financial_year,
        (financial_year || ' Q' || financial_quarter)::text as financial_quarter
    from calendar
)

select * from final
