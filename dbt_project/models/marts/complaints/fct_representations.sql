-- One row per representation: what it was, where it was handled, how far it went and how it ended.
-- Incremental: each night recomputes only the cases the night's load changed (see incremental_changes).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='representation_key',
    on_schema_change='fail',
    post_hook=["{{ mark_incremental_built() }}", "{{ event_month_indexes(['received_date', 'closed_date']) }}"],
) }}
-- depends_on: {{ ref('dim_date') }}, {{ ref('procedures') }}, {{ ref('dim_service_area') }}
-- depends_on: {{ ref('dim_stage') }}, {{ ref('dim_outcome') }}, {{ ref('dim_complaint_nature') }}
{%- set changes = incremental_changes() %}

with

representations as (
    select * from {{ ref('int_representations__unified') }}
    where {{ incremental_filter('representation_key', changes.cases, changes) }}
),

stage_rollup as (
    select * from {{ ref('int_representations__stage_rollup') }}
    where {{ incremental_filter('representation_key', changes.cases, changes) }}
),

service_area_versions as (
    select * from {{ ref('int_representations__service_area_versions') }}
    where {{ incremental_filter('representation_key', changes.cases, changes) }}
),

calendar as (
    select * from {{ ref('dim_date') }}
),

final as (
    select
        representations.representation_key::text as representation_key,
        representations.source_system::text as source_system,
        representations.representation_id::text as representation_id,
        representations.authority_code::text as authority_code,
        representations.representation_type::text as representation_type,
        representations.procedure_code::text as procedure_code,
        -- The service area version in force on the date received (dim_service_area is type 2).
        service_area_versions.service_area_key::text as service_area_key,
        representations.directorate::text as directorate,
        representations.received_date::date as received_date,
        representations.closed_date::date as closed_date,
        representations.status::text as status,
        representations.complainant_pseudonym::text as complainant_pseudonym,
        coalesce(stage_rollup.stage_count, 0)::int as stage_count,
        stage_rollup.highest_stage::int as highest_stage,
        stage_rollup.final_outcome_code::text as final_outcome_code,
        coalesce(stage_rollup.has_stage_1, false)::boolean as has_stage_1,
        coalesce(stage_rollup.is_escalated_to_stage_2, false)::boolean as is_escalated_to_stage_2,
        coalesce(stage_rollup.is_escalated_to_stage_3, false)::boolean as is_escalated_to_stage_3,
        coalesce(stage_rollup.is_escalated_to_ombudsman, false)::boolean as is_escalated_to_ombudsman,
        (representations.closed_date - representations.received_date)::int as days_open,
        -- Working days after the day received up to the day closed (0: closed the day it came in).
        (closed_day.working_day_index - received_day.working_day_index)::int as working_days_open,
        representations.batch_id::bigint as batch_id,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from representations
    left join stage_rollup
        on representations.representation_key = stage_rollup.representation_key
    left join service_area_versions
        on representations.representation_key = service_area_versions.representation_key
    left join calendar as received_day
        on representations.received_date = received_day.date_day
    left join calendar as closed_day
        on representations.closed_date = closed_day.date_day
)

select * from final
