-- One row per remedy agreed to put a complaint right: when, by when, whether it was done late, how
-- much (financial remedies) and who recommended it (the council or the Ombudsman).
-- Incremental: each night recomputes only the changed cases and the rows re-sent or deleted (see
-- incremental_changes).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='remedy_key',
    on_schema_change='fail',
    post_hook=["{{ mark_incremental_built() }}", "{{ event_month_indexes(['agreed_date']) }}"],
) }}
-- depends_on: {{ ref('dim_date') }}, {{ ref('procedures') }}, {{ ref('dim_service_area') }}
-- depends_on: {{ ref('dim_stage') }}, {{ ref('dim_outcome') }}, {{ ref('dim_complaint_nature') }}
{%- set changes = incremental_changes(
    own_table='remedies', own_key='remedy_key', own_key_column='remedy_id'
) %}
with

remedies as (
    select * from {{ ref('stg_case_system__remedies') }}
    where {{ incremental_filter('remedy_key', changes.own_keys, changes) }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
    where {{ incremental_filter('representation_key', changes.join_cases, changes) }}
),

service_area_versions as (
    select * from {{ ref('int_representations__service_area_versions') }}
    where {{ incremental_filter('representation_key', changes.join_cases, changes) }}
),

final as (
    select
        remedies.remedy_key::text as remedy_key,
        remedies.representation_key::text as representation_key,
        remedies.source_system::text as source_system,
        remedies.remedy_id::text as remedy_id,
        remedies.stage_code::text as stage_code,
        remedies.remedy_type::text as remedy_type,
        (remedies.remedy_type = 'financial')::boolean as is_financial,
        remedies.recommended_by::text as recommended_by,
        representations.procedure_code::text as procedure_code,
        service_area_versions.service_area_key::text as service_area_key,
        representations.directorate::text as directorate,
        remedies.agreed_date::date as agreed_date,
        remedies.due_date::date as due_date,
        remedies.completed_date::date as completed_date,
        (remedies.completed_date is not null)::boolean as is_completed,
        -- Late = completed after its due date (what the Ombudsman reports); an open remedy is not yet late.
        coalesce(remedies.completed_date > remedies.due_date, false)::boolean as is_late,
        remedies.amount_gbp::numeric(12, 2) as amount_gbp,
        remedies.batch_id::bigint as batch_id,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from remedies
    inner join representations
        on remedies.representation_key = representations.representation_key
    left join service_area_versions
        on remedies.representation_key = service_area_versions.representation_key
)

select * from final
