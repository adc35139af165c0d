-- What a complaint point is about, from the seed.
with

natures as (
    select * from {{ ref('complaint_natures') }}
),

final as (
    select
        nature_code::text as nature_code,
        nature_name::text as nature_name,
        sort_order::int as sort_order
    from natures
)

select * from final
