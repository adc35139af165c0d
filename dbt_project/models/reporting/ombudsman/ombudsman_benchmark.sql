-- Each council against the average of similar authorities, year by year, one row per headline measure:
-- the uphold rate, compliance with recommendations, satisfactory remedies, and upheld per 100,000
-- residents, as the Ombudsman published them, with the caveat that belongs next to the year.
with

statistics as (
    select * from {{ ref('fct_ombudsman_annual_statistics') }}
),

averages as (
    select * from {{ ref('ombudsman_similar_authority_averages') }}
),

measures as (
    select
        authority_year_key,
        'uphold_rate_pct' as measure,
        published_uphold_rate_pct as council_value,
        similar_authority_uphold_rate_pct as similar_authority_value,
        false as higher_is_better,
        (case
            when published_uphold_rate_pct is null then 'not published'
            when recomputed_uphold_rate_pct is null then 'no counts'
            when published_uphold_rate_pct = recomputed_uphold_rate_pct then 'matches'
            else 'differs'
        end) as recomputation
    from statistics
    union all
    select
        authority_year_key,
        'compliance_rate_pct' as measure,
        published_compliance_rate_pct as council_value,
        similar_authority_compliance_rate_pct as similar_authority_value,
        true as higher_is_better,
        -- Compliance outcomes are counted, not which complied: nothing to recompute from.
        (case when published_compliance_rate_pct is null then 'not published' else 'not recomputed' end)
            as recomputation
    from statistics
    union all
    select
        authority_year_key,
        'satisfactory_remedy_rate_pct' as measure,
        published_satisfactory_remedy_rate_pct as council_value,
        similar_authority_satisfactory_remedy_rate_pct as similar_authority_value,
        true as higher_is_better,
        (case
            when published_satisfactory_remedy_rate_pct is null then 'not published'
            when recomputed_satisfactory_remedy_rate_pct is null then 'no counts'
            when published_satisfactory_remedy_rate_pct = recomputed_satisfactory_remedy_rate_pct
                then 'matches'
            else 'differs'
        end) as recomputation
    from statistics
    union all
    select
        authority_year_key,
        'upheld_per_100k' as measure,
        published_upheld_per_100k as council_value,
        similar_authority_upheld_per_100k as similar_authority_value,
        false as higher_is_better,
        -- 'no population' when no ONS estimate is loaded for the mid-year the rule picks: never silent.
        (case upheld_per_100k_check when 'no upheld count' then 'no counts' else upheld_per_100k_check end)
            as recomputation
    from statistics
),

final as (
    select
        (statistics.authority_year_key || '|' || measures.measure)::text as benchmark_key,
        statistics.ons_code::text as ons_code,
        statistics.authority_name::text as authority_name,
        statistics.similar_authority_group::text as similar_authority_group,
        statistics.financial_year::text as financial_year,
        measures.measure::text as measure,
        measures.council_value::numeric as council_value,
        measures.similar_authority_value::numeric as similar_authority_value,
        (measures.council_value - measures.similar_authority_value)::numeric as difference,
        (case
            when measures.council_value is null or measures.similar_authority_value is null then null
            when measures.council_value = measures.similar_authority_value then 'in line'
            when (measures.council_value > measures.similar_authority_value) = measures.higher_is_better
                then 'better'
            else 'worse'
        end)::text as comparison,
        measures.recomputation::text as recomputation,
        -- The similar-authority average recomputed from the group's councils (a national file), and
        -- whether the published one is it as rounded: 'differs' and 'no population' are flags.
        averages.recomputed_average::numeric as similar_authority_recomputed,
        averages.recomputation::text as similar_authority_recomputation,
        averages.councils_in_group::int as similar_authority_councils,
        statistics.caveat::text as caveat
    from measures
    inner join statistics
        on measures.authority_year_key = statistics.authority_year_key
    left join averages
        on
            statistics.similar_authority_group = averages.similar_authority_group
            and statistics.financial_year = averages.financial_year
            and measures.measure = averages.measure
)

select * from final
