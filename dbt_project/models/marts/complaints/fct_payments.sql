-- One row per payment actually made, by date, type and the directorate of the case it settles.
with

payments as (
    select * from {{ ref('stg_case_system__payments') }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
),

service_area_versions as (
    select * from {{ ref('int_representations__service_area_versions') }}
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
        payments.amount_gbp::numeric as amount_gbp,
        representations.procedure_code::text as procedure_code,
        service_area_versions.service_area_key::text as service_area_key,
        representations.directorate::text as directorate,
        payments.batch_id::bigint as batch_id
    from payments
    inner join representations
        on payments.representation_key = representations.representation_key
    left join service_area_versions
        on payments.representation_key = service_area_versions.representation_key
)

select * from final
