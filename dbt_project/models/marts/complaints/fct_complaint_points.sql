-- One row per complaint point: some councils count points, not cases, so a figure says which it counts.
-- Incremental: each night recomputes only the changed cases and the rows re-sent or deleted (see
-- incremental_changes).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='point_key',
    on_schema_change='fail',
    post_hook="{{ mark_incremental_built() }}",
) }}
-- depends_on: {{ ref('dim_date') }}, {{ ref('procedures') }}, {{ ref('dim_service_area') }}
-- depends_on: {{ ref('dim_stage') }}, {{ ref('dim_outcome') }}, {{ ref('dim_complaint_nature') }}
{%- set changes = incremental_changes(
    own_table='complaint_points', own_key='point_key', own_key_column='point_id'
) %}
with

points as (
    select * from {{ ref('stg_case_system__complaint_points') }}
    where {{ incremental_filter('point_key', changes.own_keys, changes) }}
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
        points.point_key::text as point_key,
        points.representation_key::text as representation_key,
        points.source_system::text as source_system,
        points.point_id::text as point_id,
        points.nature_code::text as nature_code,
        points.outcome_code::text as outcome_code,
        representations.procedure_code::text as procedure_code,
        service_area_versions.service_area_key::text as service_area_key,
        representations.directorate::text as directorate,
        representations.received_date::date as received_date,
        points.batch_id::bigint as batch_id,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from points
    inner join representations
        on points.representation_key = representations.representation_key
    left join service_area_versions
        on points.representation_key = service_area_versions.representation_key
)

select * from final
