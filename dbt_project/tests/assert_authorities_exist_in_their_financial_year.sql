-- Statistics for an authority in a year it did not exist (e.g. Cumbria after March 2023) are a mapping error.
select
    facts.authority_year_key
from {{ ref('fct_ombudsman_annual_statistics') }} as facts
inner join {{ ref('dim_authority') }} as authorities
    on facts.ons_code = authorities.ons_code
where
    make_date(facts.financial_year_start, 4, 1) > coalesce(authorities.valid_to, 'infinity'::date)
    or make_date(facts.financial_year_start + 1, 3, 31) < coalesce(authorities.valid_from, '-infinity'::date)
