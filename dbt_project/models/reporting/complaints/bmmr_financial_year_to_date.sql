-- The financial year to date: that period's rows of bmmr_monthly, counts only
-- (see _complaints__bmmr_periods.yml).
{{ config(materialized='table') }}

{{ bmmr_period_view('financial_year_to_date') }}
