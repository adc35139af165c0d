-- The Ombudsman's annual statistics per authority and financial year: each rate as published beside its
-- recomputation from the counts (Postgres round() on numeric rounds half away from zero, as the
-- Ombudsman does), a flag when they differ, and the similar-authority averages. No detailed
-- investigations means no rate (null), never 0 %.
with

statistics as (
    select * from {{ ref('stg_ombudsman__annual_statistics') }}
),

authorities as (
    select * from {{ ref('stg_reference__authorities') }}
),

population as (
    select * from {{ ref('stg_reference__population') }}
),

-- Staging already holds one row per authority and year (the latest delivery, whatever its spelling).
matched as (
    select statistics.*
    from statistics
    where statistics.ons_code is not null
),

-- The ONS estimate "upheld per 100,000 residents" divides by (the var ombudsman_population_mid_year,
-- docs/ombudsman-per-100k.md): the mid-year the rule picks, in the latest edition published before the
-- rule's cutoff; an undated edition (a dropped-in file) only where no dated one qualifies.
population_editions as (
    select
        matched.ons_code,
        matched.financial_year_start,
        population.population,
        population.population_source,
        population.population_published_on,
        row_number() over (
            partition by matched.ons_code, matched.financial_year_start
            order by
                population.population_published_on desc nulls last,
                population.population_batch_id desc,
                population.population_source asc
        ) as edition_rank
    from matched
    inner join population
        on
            matched.ons_code = population.ons_code
            and {{ ombudsman_population_mid_year('matched.financial_year_start') }} = population.mid_year
    where
        population.population_published_on is null
        or population.population_published_on
        < {{ ombudsman_population_edition_cutoff('matched.financial_year_start') }}
),

recomputed as (
    select
        matched.*,
        authorities.authority_name as official_name,
        coalesce(authorities.authority_type, matched.authority_type) as similar_authority_group,
        population_editions.population,
        population_editions.population_source,
        population_editions.population_published_on,
        {{ ombudsman_population_mid_year('matched.financial_year_start') }} as population_mid_year,
        round(100.0 * matched.upheld / nullif(matched.detailed_investigations, 0))
            as recomputed_uphold_rate_pct,
        round(100.0 * matched.satisfactory_remedies / nullif(matched.upheld, 0))
            as recomputed_satisfactory_remedy_rate_pct,
        round(100000.0 * matched.upheld / nullif(population_editions.population, 0), 1)
            as recomputed_upheld_per_100k
    from matched
    inner join authorities
        on matched.ons_code = authorities.ons_code
    -- Left join: a missing population is flagged, never dropped.
    left join population_editions
        on
            matched.ons_code = population_editions.ons_code
            and matched.financial_year_start = population_editions.financial_year_start
            and population_editions.edition_rank = 1
),

final as (
    select
        (ons_code || ' ' || financial_year)::text as authority_year_key,
        ons_code::text as ons_code,
        official_name::text as authority_name,
        authority_name::text as published_authority_name,
        similar_authority_group::text as similar_authority_group,
        financial_year::text as financial_year,
        financial_year_start::int as financial_year_start,
        received_total::int as received_total,
        received_adult_care::int as received_adult_care,
        received_education_childrens::int as received_education_childrens,
        received_highways_transport::int as received_highways_transport,
        received_corporate_other::int as received_corporate_other,
        received_benefits_tax::int as received_benefits_tax,
        received_housing::int as received_housing,
        received_planning::int as received_planning,
        received_environment_regulation::int as received_environment_regulation,
        received_other::int as received_other,
        detailed_investigations::int as detailed_investigations,
        upheld::int as upheld,
        not_upheld::int as not_upheld,
        advice_given::int as advice_given,
        closed_after_initial_enquiries::int as closed_after_initial_enquiries,
        incomplete_invalid::int as incomplete_invalid,
        referred_back::int as referred_back,
        decided_not_for_us::int as decided_not_for_us,
        decided_assessed_and_closed::int as decided_assessed_and_closed,
        decided_investigated::int as decided_investigated,
        published_uphold_rate_pct::numeric as published_uphold_rate_pct,
        recomputed_uphold_rate_pct::numeric as recomputed_uphold_rate_pct,
        similar_authority_uphold_rate_pct::numeric as similar_authority_uphold_rate_pct,
        compliance_outcomes::int as compliance_outcomes,
        published_compliance_rate_pct::numeric as published_compliance_rate_pct,
        similar_authority_compliance_rate_pct::numeric as similar_authority_compliance_rate_pct,
        satisfactory_remedies::int as satisfactory_remedies,
        published_satisfactory_remedy_rate_pct::numeric as published_satisfactory_remedy_rate_pct,
        recomputed_satisfactory_remedy_rate_pct::numeric as recomputed_satisfactory_remedy_rate_pct,
        similar_authority_satisfactory_remedy_rate_pct::numeric
            as similar_authority_satisfactory_remedy_rate_pct,
        population::int as population,
        population_mid_year::int as population_mid_year,
        population_source::text as population_source,
        population_published_on::date as population_published_on,
        published_upheld_per_100k::numeric as published_upheld_per_100k,
        recomputed_upheld_per_100k::numeric as recomputed_upheld_per_100k,
        similar_authority_upheld_per_100k::numeric as similar_authority_upheld_per_100k,
        -- Counts not published (only rates): the published uphold rate says whether there were any.
        coalesce(detailed_investigations > 0, published_uphold_rate_pct is not null)::boolean
            as has_detailed_investigations,
        (
            published_uphold_rate_pct <> recomputed_uphold_rate_pct
            or published_satisfactory_remedy_rate_pct <> recomputed_satisfactory_remedy_rate_pct
            or published_upheld_per_100k <> recomputed_upheld_per_100k
        )::boolean is true as has_rate_mismatch,
        -- Per 100,000 residents, checked: never silently empty.
        (case
            when population is null then 'no population'
            when published_upheld_per_100k is null then 'not published'
            when recomputed_upheld_per_100k is null then 'no upheld count'
            when published_upheld_per_100k = recomputed_upheld_per_100k then 'matches'
            else 'differs'
        end)::text as upheld_per_100k_check,
        (case
            when financial_year = '2020/21'
                then 'Low year: the Ombudsman paused complaint handling for three months (Covid-19).'
            when financial_year_start >= 2022
                then 'From 2022/23 a new investigation process raised uphold rates everywhere.'
        end)::text as caveat,
        mapping_version::int as mapping_version,
        batch_id::bigint as batch_id
    from recomputed
)

select * from final
