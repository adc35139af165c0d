-- Service areas and the directorate each belongs to, as the case system last described them.
with

representations as (
    select * from {{ ref('stg_case_system__representations') }}
),

latest_description as (
    select
        service_area_code,
        service_area_name,
        directorate,
        row_number() over (
            partition by service_area_code order by received_date desc, representation_id desc
        ) as recency_rank
    from representations
),

final as (
    select
        service_area_code::text as service_area_code,
        coalesce(service_area_name, service_area_code)::text as service_area_name,
        directorate::text as directorate
    from latest_description
    where recency_rank = 1
)

select * from final
