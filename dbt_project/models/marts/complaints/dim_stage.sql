-- The stages a complaint passes through, from the seed.
with

stages as (
    select * from {{ ref('stages') }}
),

final as (
    select
        stage_code::text as stage_code,
        stage_number::int as stage_number,
        stage_name::text as stage_name,
        stage_description::text as stage_description,
        is_council_stage::boolean as is_council_stage
    from stages
)

select * from final
