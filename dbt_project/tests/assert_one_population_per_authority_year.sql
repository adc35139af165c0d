-- Population: one figure per authority and mid-year.
select
    ons_code,
    mid_year
from {{ ref('stg_reference__population') }}
group by ons_code, mid_year
having count(*) > 1
