-- The service area version each representation belongs to: the version in force on the date received,
-- i.e. the latest that started on or before it. valid_to is not used, so sources that close a version
-- the day before the next starts and sources that close it on the same day both work; a case received
-- before a code's first version takes the first version. The versions come from int_service_areas__versions
-- (a table built once a night), so that an incremental fact filtering on representation_key computes only
-- its cases.
with

representations as (
    select * from {{ ref('int_representations__unified') }}
),

versions as (
    select * from {{ ref('int_service_areas__versions') }}
),

candidates as (
    select
        representations.representation_key,
        versions.service_area_key,
        versions.directorate as service_area_directorate,
        row_number() over (
            partition by representations.representation_key
            order by
                versions.valid_from <= representations.received_date desc,
                case
                    when versions.valid_from <= representations.received_date then versions.valid_from
                end desc,
                versions.valid_from asc
        ) as version_rank
    from representations
    inner join versions
        on
            representations.source_system = versions.source_system
            and representations.service_area_code = versions.service_area_code
),

final as (
    select
        representation_key,
        service_area_key,
        service_area_directorate
    from candidates
    where version_rank = 1
)

select * from final
