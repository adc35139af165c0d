-- One row per payment actually made, by date, type and the directorate of the case it settles.
-- Incremental: each night recomputes only the changed cases and the rows re-sent or deleted (see
-- incremental_changes).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='payment_key',
    on_schema_change='fail',
    post_hook=["{{ mark_incremental_built() }}", "{{ event_month_indexes(['payment_date']) }}"],
) }}
-- depends_on: {{ ref('dim_date') }}, {{ ref('procedures') }}, {{ ref('dim_service_area') }}
-- depends_on: {{ ref('dim_stage') }}, {{ ref('dim_outcome') }}, {{ ref('dim_complaint_nature') }}
{%- set changes = incremental_changes(
    own_table='payments', own_key='payment_key', own_key_column='payment_id'
) %}
with

payments as (
    select * from {{ ref('stg_case_system__payments') }}
    where {{ incremental_filter('payment_key', changes.own_keys, changes) }}
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
        payments.payment_key::text as payment_key,
        payments.remedy_key::text as remedy_key,
        payments.representation_key::text as representation_key,
        payments.source_system::text as source_system,
        payments.payment_id::text as payment_id,
        payments.payment_date::date as payment_date,
        payments.payment_type::text as payment_type,
        payments.amount_gbp::numeric(12, 2) as amount_gbp,
        representations.procedure_code::text as procedure_code,
        service_area_versions.service_area_key::text as service_area_key,
        representations.directorate::text as directorate,
        payments.batch_id::bigint as batch_id,
        -- When this row was last recomputed (the dbt run's start): a nightly run tests only these.
        {{ built_at() }} as built_at
    from payments
    inner join representations
        on payments.representation_key = representations.representation_key
    left join service_area_versions
        on payments.representation_key = service_area_versions.representation_key
)

select * from final
