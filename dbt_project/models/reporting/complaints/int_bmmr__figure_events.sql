-- Every event a BMMR figure counts or sums, one row each, in the month of the event itself: a case
-- received or closed, a stage responded to, a Stage 2 opened (an escalation), a financial remedy agreed,
-- a payment made, an Ombudsman decision. Which figure takes which events is defined once, in the macro
-- bmmr_event_measures: int_bmmr__monthly_counts counts them, bmmr_figure_cases lists them. Cases are
-- named by their pseudonymous reference (representation_key), never by a person.
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

ombudsman_cases as (
    select * from {{ ref('stg_case_system__ombudsman_cases') }}
),

events as (
    select
        'received' as event,
        date_trunc('month', received_date)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        representation_key as event_key,
        representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp
    from representations

    union all

    select
        'closed' as event,
        date_trunc('month', closed_date)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        representation_key as event_key,
        representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp
    from representations
    where status = 'closed' and closed_date is not null

    union all

    -- The council's own stages (0-3) answered in the month, on time or not, and how they ended.
    select
        'responded' as event,
        date_trunc('month', stages.responded_date)::date as report_month,
        stages.directorate,
        stages.procedure_code,
        stages.representation_key,
        stages.stage_key as event_key,
        null::text as representation_type,
        stages.stage_number,
        stages.is_within_timescale,
        outcomes.reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp
    from stages
    left join outcomes
        on stages.outcome_code = outcomes.outcome_code
    where stages.stage_number <= 3 and stages.responded_date is not null

    union all

    -- Escalations Stage 1 -> 2: Stage 2 stages opened in the month.
    select
        'stage_2_opened' as event,
        date_trunc('month', opened_date)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        stage_key as event_key,
        null::text as representation_type,
        stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp
    from stages
    where stage_number = 2

    union all

    select
        'financial_remedy' as event,
        date_trunc('month', agreed_date)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        remedy_key as event_key,
        null::text as representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        amount_gbp::numeric as amount_gbp
    from remedies
    where is_financial

    union all

    select
        'payment' as event,
        date_trunc('month', payment_date)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        payment_key as event_key,
        null::text as representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        amount_gbp::numeric as amount_gbp
    from payments

    union all

    -- The council's own record of Ombudsman decisions, for cases the warehouse holds (directorate and
    -- procedure come from the case).
    select
        'ombudsman_decision' as event,
        date_trunc('month', ombudsman_cases.decision_date)::date as report_month,
        representations.directorate,
        representations.procedure_code,
        representations.representation_key,
        ombudsman_cases.ombudsman_case_key as event_key,
        null::text as representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        ombudsman_cases.decision_code,
        null::numeric as amount_gbp
    from ombudsman_cases
    inner join representations
        on ombudsman_cases.representation_key = representations.representation_key
    where ombudsman_cases.decision_date is not null
)

select * from events
