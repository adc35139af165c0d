-- The calendar, one row per day from April 2014 to March 2036: weekends, the bank holidays of England and
-- Wales (seed bank_holidays) and a running working-day index for timescales. The one place working days
-- are defined: int_complaint_stages__working_days measures stages on it and dim_date publishes it.
-- A table (a few thousand rows, built once a night), so each stage's days are looked up by date.
{{ config(materialized='table') }}
with

days as (
    select series_day::date as date_day
    from generate_series('2014-04-01'::date, '2036-03-31'::date, interval '1 day') as series_day
),

bank_holidays as (
    select * from {{ ref('bank_holidays') }}
),

flagged as (
    select
        days.date_day,
        bank_holidays.holiday_name,
        bank_holidays.holiday_date is not null as is_bank_holiday,
        extract(isodow from days.date_day) in (6, 7) as is_weekend
    from days
    left join bank_holidays
        on days.date_day = bank_holidays.holiday_date
),

indexed as (
    select
        *,
        not is_weekend and not is_bank_holiday as is_working_day,
        -- Working days elapsed since the start of the calendar: due date = the day whose index is
        -- the start's index + N; a non-working day shares the index of the working day before it.
        sum(case when not is_weekend and not is_bank_holiday then 1 else 0 end)
            over (order by date_day) as working_day_index
    from flagged
),

final as (
    select
        date_day::date as date_day,
        is_weekend::boolean as is_weekend,
        is_bank_holiday::boolean as is_bank_holiday,
        holiday_name::text as bank_holiday_name,
        is_working_day::boolean as is_working_day,
        working_day_index::int as working_day_index
    from indexed
)

select * from final
