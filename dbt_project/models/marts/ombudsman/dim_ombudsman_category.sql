-- The Ombudsman's categories of complaints received, from the seed.
with

categories as (
    select * from {{ ref('ombudsman_categories') }}
),

final as (
    select
        category_code::text as category_code,
        category_name::text as category_name,
        annual_statistics_column::text as annual_statistics_column,
        sort_order::int as sort_order
    from categories
)

select * from final
