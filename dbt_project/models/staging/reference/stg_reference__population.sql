-- Mid-year resident population by authority, the latest delivered figure per authority and year.
with

source as (
    select * from {{ source('reference', 'population') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by ons_code, mid_year order by _batch_id desc, _row_number desc
        ) as version_rank
    from source
)

select
    ons_code,
    mid_year::int as mid_year,
    population::int as population,
    source as population_source
from latest
where version_rank = 1
