-- Service areas and the directorate each belongs to now: from the source's own list where it sends
-- one, else as the cases last described them.
with

listed as (
    select * from {{ ref('stg_case_system__service_areas') }}
    where valid_to is null
),

representations as (
    select * from {{ ref('int_representations__unified') }}
),

seen_on_cases as (
    select
        source_system,
        service_area_code,
        service_area_name,
        directorate,
        row_number() over (
            partition by source_system, service_area_code
            order by received_date desc, representation_id desc
        ) as recency_rank
    from representations
),

combined as (
    select source_system, service_area_code, service_area_name, directorate
    from listed
    union all
    select source_system, service_area_code, service_area_name, directorate
    from seen_on_cases
    where
        recency_rank = 1
        and not exists (
            select 1 from listed
            where
                listed.source_system = seen_on_cases.source_system
                and listed.service_area_code = seen_on_cases.service_area_code
        )
),

final as (
    select
        (source_system || ':' || service_area_code)::text as service_area_key,
        source_system::text as source_system,
        service_area_code::text as service_area_code,
        coalesce(service_area_name, service_area_code)::text as service_area_name,
        directorate::text as directorate
    from combined
)

select * from final
