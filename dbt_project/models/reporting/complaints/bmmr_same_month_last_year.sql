-- The same month last year: that period's rows of bmmr_monthly, counts only
-- (see _complaints__bmmr_periods.yml).
{{ config(materialized='table') }}

{{ bmmr_period_view('same_month_last_year') }}
