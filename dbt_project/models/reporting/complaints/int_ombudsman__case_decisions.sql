-- The council's own record of the Ombudsman's decisions, one row per decided Ombudsman case of a case the
-- warehouse holds, with the case's directorate and procedure as fct_representations shows them: what
-- the BMMR's Ombudsman figures count (int_bmmr__figure_events) and the annual report's Ombudsman
-- outcomes (annual_report). Kept like a fact: each night recomputes only the Ombudsman cases re-sent or
-- deleted and those of the cases the night changed (incremental_changes), so a night no longer joins
-- every decision to every case.
-- A reporting step, not an intermediate model: it reads the marts' fact of cases. Internal (its yml).
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
    own_table='ombudsman_cases', own_key='ombudsman_case_key', own_key_column='ombudsman_reference'
) %}
with

ombudsman_cases as (
    select * from {{ ref('stg_case_system__ombudsman_cases') }}
    where {{ incremental_filter('ombudsman_case_key', changes.own_keys, changes) }}
),

representations as (
    select * from {{ ref('fct_representations') }}
    where {{ incremental_filter('representation_key', changes.cases, changes) }}
),

final as (
    select
        ombudsman_cases.ombudsman_case_key::text as ombudsman_case_key,
        ombudsman_cases.representation_key::text as representation_key,
        ombudsman_cases.decision_date::date as decision_date,
        ombudsman_cases.decision_code::text as decision_code,
        representations.directorate::text as directorate,
        representations.procedure_code::text as procedure_code,
        -- The case's service area version, as the facts carry it: a night whose reorganisation removes
        -- the version recomputes the case here too (incremental_changes).
        representations.service_area_key::text as service_area_key,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from ombudsman_cases
    inner join representations
        on ombudsman_cases.representation_key = representations.representation_key
    where ombudsman_cases.decision_date is not null
)

select * from final
