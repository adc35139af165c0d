-- Service areas and their directorate, one row per version (type 2 history across reorganisations).
with

versions as (
    select * from {{ ref('int_service_areas__versions') }}
),

final as (
    select
        service_area_key::text as service_area_key,
        service_area_durable_key::text as service_area_durable_key,
        source_system::text as source_system,
        service_area_code::text as service_area_code,
        service_area_name::text as service_area_name,
        directorate::text as directorate,
        valid_from::date as valid_from,
        valid_to::date as valid_to,
        is_current::boolean as is_current
    from versions
)

select * from final
