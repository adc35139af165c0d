-- Council stage outcomes and the reporting group each is counted in, from the seed.
with

outcomes as (
    select * from {{ ref('outcomes') }}
),

final as (
    select
        outcome_code::text as outcome_code,
        outcome_name::text as outcome_name,
        reporting_group_code::text as reporting_group_code,
        reporting_group::text as reporting_group,
        reporting_group_order::int as reporting_group_order,
        is_upheld::boolean as is_upheld
    from outcomes
)

select * from final
