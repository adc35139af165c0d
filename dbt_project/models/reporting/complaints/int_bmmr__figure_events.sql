-- Every event a BMMR figure counts or sums, one row each, in the month of the event itself: a case
-- received or closed, a stage responded to, a Stage 2 opened (an escalation), a financial remedy agreed,
-- a payment made, an Ombudsman decision. Which figure takes which events is defined once, in the macro
-- bmmr_event_measures: int_bmmr__monthly_counts counts them, bmmr_figure_cases lists them. Cases are
-- named by their pseudonymous reference (representation_key), never by a person. The events from the
-- facts are the macro bmmr_fact_events, which int_bmmr__fact_counts also counts night by night; the
-- Ombudsman's decisions come from int_ombudsman__case_decisions (kept night by night like a fact).
-- A reporting step, not an intermediate model: it reads the facts (the incremental tables that hold every
-- case as the marts show it), so the BMMR is counted from the marts, not recomputed from staging each
-- night. Internal: a view in schema intermediate, as it always was, not a table for BI tools (its yml).
-- The facts read by several branches are "not materialized": each branch scans its fact for the columns
-- and rows it needs, and a reader's condition on the month (report_month) reaches that scan. Materialized,
-- every read of the view first copied every case and stage whole (spilling to disk at national scale).
with

representations as not materialized (
    select * from {{ ref('fct_representations') }}
),

stages as not materialized (
    select * from {{ ref('fct_complaint_stages') }}
),

outcomes as (
    select * from {{ ref('dim_outcome') }}
),

remedies as (
    select * from {{ ref('fct_remedies') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

ombudsman_decisions as (
    select * from {{ ref('int_ombudsman__case_decisions') }}
),

events as (
    {{ bmmr_fact_events() }}

    union all

    -- The council's own record of Ombudsman decisions, for cases the warehouse holds (directorate and
    -- procedure are the case's, kept with each decision).
    select
        'ombudsman_decision' as event,  -- noqa: RF04
        date_trunc('month', decision_date::timestamp)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        ombudsman_case_key as event_key,
        null::text as representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        decision_code,
        null::numeric as amount_gbp
    from ombudsman_decisions
)

select * from events
