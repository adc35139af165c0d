-- One row per complaint point: some councils count points, not cases, so a figure says which it counts.
with

points as (
    select * from {{ ref('stg_case_system__complaint_points') }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
),

service_area_versions as (
    select * from {{ ref('int_representations__service_area_versions') }}
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
        points.batch_id::bigint as batch_id
    from points
    inner join representations
        on points.representation_key = representations.representation_key
    left join service_area_versions
        on points.representation_key = service_area_versions.representation_key
)

select * from final
