-- The month: that period's rows of bmmr_monthly, counts only (see _complaints__bmmr_periods.yml).
{{ config(materialized='view') }}

{{ bmmr_period_view('month') }}
