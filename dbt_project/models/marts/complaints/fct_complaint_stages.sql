-- One row per case and stage it reached: dates, working days taken and whether it was answered within
-- its timescale (see int_complaint_stages__working_days), outcome, investigator and cost.
-- Incremental: each night recomputes every stage of the cases the night's load changed (see
-- incremental_changes), so a case whose stages changed gets all its rows right.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='stage_key',
    on_schema_change='fail',
    post_hook=["{{ mark_incremental_built() }}", "{{ event_month_indexes(['opened_date', 'responded_date']) }}"],
) }}
-- depends_on: {{ ref('dim_date') }}, {{ ref('procedures') }}, {{ ref('dim_service_area') }}
-- depends_on: {{ ref('dim_stage') }}, {{ ref('dim_outcome') }}, {{ ref('dim_complaint_nature') }}
{%- set changes = incremental_changes() %}
with

stages as (
    select * from {{ ref('int_complaint_stages__working_days') }}
    where
        {{ incremental_filter('representation_key', changes.cases, changes) }}
        and {{ incremental_filter('case_representation_key', changes.cases, changes) }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
    where {{ incremental_filter('representation_key', changes.cases, changes) }}
),

service_area_versions as (
    select * from {{ ref('int_representations__service_area_versions') }}
    where {{ incremental_filter('representation_key', changes.cases, changes) }}
),

final as (
    select
        stages.stage_key::text as stage_key,
        stages.representation_key::text as representation_key,
        stages.source_system::text as source_system,
        stages.stage_code::text as stage_code,
        stages.stage_number::int as stage_number,
        stages.procedure_code::text as procedure_code,
        representations.representation_type::text as representation_type,
        service_area_versions.service_area_key::text as service_area_key,
        representations.directorate::text as directorate,
        stages.opened_date::date as opened_date,
        stages.due_date::date as due_date,
        stages.extended_due_date::date as extended_due_date,
        stages.suspended_days::int as suspended_days,
        stages.responded_date::date as responded_date,
        (stages.responded_date is not null)::boolean as is_responded,
        stages.timescale_working_days::int as timescale_working_days,
        stages.timescale_deadline_date::date as timescale_deadline_date,
        stages.working_days_taken::int as working_days_taken,
        stages.is_within_timescale::boolean as is_within_timescale,
        stages.outcome_code::text as outcome_code,
        stages.investigator::text as investigator,
        stages.investigation_cost_gbp::numeric(12, 2) as investigation_cost_gbp,
        stages.batch_id::bigint as batch_id,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from stages
    inner join representations
        on stages.representation_key = representations.representation_key
    left join service_area_versions
        on stages.representation_key = service_area_versions.representation_key
)

select * from final
