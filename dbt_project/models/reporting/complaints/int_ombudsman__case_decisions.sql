-- The council's own record of the Ombudsman's decisions, one row per decided Ombudsman case of a case the
-- warehouse holds, with the case's directorate and procedure as the facts have them: what the BMMR's
-- Ombudsman figures count (int_bmmr__figure_events) and the annual report's Ombudsman outcomes
-- (annual_report). A fact in all but name, built like fct_payments from what the facts read (not from
-- fct_representations, which may have taken in other batches than this model), and kept like one: each
-- night recomputes only the Ombudsman cases re-sent or deleted and those of the cases the night changed
-- (incremental_changes), so a night no longer joins every decision to every case.
-- Internal (its yml): a reporting step's input, not a mart for BI tools.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='ombudsman_case_key',
    on_schema_change='fail',
    post_hook="{{ mark_incremental_built() }}",
) }}
-- depends_on: {{ ref('dim_date') }}, {{ ref('procedures') }}, {{ ref('dim_service_area') }}
-- depends_on: {{ ref('dim_stage') }}, {{ ref('dim_outcome') }}, {{ ref('dim_complaint_nature') }}
{%- set changes = incremental_changes(
    own_table='ombudsman_cases', own_key='ombudsman_case_key', own_key_column='ombudsman_reference',
    service_area_key=false,
) %}
with

ombudsman_cases as (
    select * from {{ ref('stg_case_system__ombudsman_cases') }}
    where {{ incremental_filter('ombudsman_case_key', changes.own_keys, changes) }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
    where {{ incremental_filter('representation_key', changes.join_cases, changes) }}
),

final as (
    select
        ombudsman_cases.ombudsman_case_key::text as ombudsman_case_key,
        ombudsman_cases.representation_key::text as representation_key,
        ombudsman_cases.decision_date::date as decision_date,
        ombudsman_cases.decision_code::text as decision_code,
        representations.directorate::text as directorate,
        representations.procedure_code::text as procedure_code,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from ombudsman_cases
    inner join representations
        on ombudsman_cases.representation_key = representations.representation_key
    where ombudsman_cases.decision_date is not null
)

select * from final
