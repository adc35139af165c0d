-- Population: one figure per authority, mid-year and edition.
select
    ons_code,
    mid_year,
    population_source
from {{ ref('stg_reference__population') }}
group by ons_code, mid_year, population_source
having count(*) > 1
