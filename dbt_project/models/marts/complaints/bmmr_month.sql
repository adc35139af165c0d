-- The month: that period's rows of bmmr_monthly, counts only (see _complaints__bmmr_periods.yml).
{{ config(materialized='view') }}

select
    bmmr_key,
    report_month,
    financial_year,
    directorate,
    procedure_code,
    representations_received,
    complaints_received,
    compliments_received,
    representations_closed,
    complaints_closed,
    stage_0_responded,
    stage_0_within_timescale,
    stage_1_responded,
    stage_1_within_timescale,
    stage_2_responded,
    stage_2_within_timescale,
    stage_3_responded,
    stage_3_within_timescale,
    stage_2_escalations,
    outcome_upheld,
    outcome_not_upheld,
    outcome_withdrawn_resolved,
    outcome_not_pursued,
    financial_remedies,
    payments,
    ombudsman_decisions,
    ombudsman_upheld,
    financial_remedies_gbp,
    payments_gbp
from {{ ref('bmmr_monthly') }}
where period = 'month'
