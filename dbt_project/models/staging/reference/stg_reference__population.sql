-- Mid-year resident population by authority: one row per edition of each estimate (a mid-year is revised
-- by later ONS editions), the latest delivered figure per authority, mid-year and edition.
with

source as (
    select * from {{ source('reference', 'population') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by ons_code, mid_year, source order by _batch_id desc, _row_number desc
        ) as version_rank
    from source
)

select
    ons_code,
    mid_year::int as mid_year,
    population::int as population,
    published_on::date as population_published_on,
    source as population_source,
    _batch_id as population_batch_id
from latest
where version_rank = 1
