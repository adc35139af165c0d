-- One row per day, April 2014 to March 2036: UK financial year, quarter, and working days (weekends and
-- the bank holidays of England and Wales excluded), with a running working-day index for due dates. The
-- days and working days are the shared calendar's (int_calendar__days); this adds the financial year.
with

calendar as (
    select * from {{ ref('int_calendar__days') }}
),

final as (
    select
        date_day::date as date_day,
        ({{ financial_year('date_day') }})::text as financial_year,
        {{ financial_year_start_year('date_day') }} as financial_year_start,
        -- Q1 is April to June.
        extract(quarter from date_day - interval '3 months')::int as financial_quarter,
        extract(year from date_day)::int as calendar_year,
        extract(month from date_day)::int as calendar_month,
        trim(to_char(date_day, 'Month'))::text as month_name,
        -- April = 1 ... March = 12.
        extract(month from date_day - interval '3 months')::int as fiscal_month_number,
        date_trunc('month', date_day)::date as month_start,
        -- Sorts as text in date order: 2024-04.
        to_char(date_day, 'YYYY-MM')::text as month_label,
        extract(isodow from date_day)::int as iso_day_of_week,
        trim(to_char(date_day, 'Day'))::text as day_name,
        is_weekend::boolean as is_weekend,
        is_bank_holiday::boolean as is_bank_holiday,
        bank_holiday_name::text as bank_holiday_name,
        is_working_day::boolean as is_working_day,
        working_day_index::int as working_day_index
    from calendar
)

select * from final
