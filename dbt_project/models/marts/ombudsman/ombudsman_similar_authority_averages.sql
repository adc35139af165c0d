-- The Ombudsman's similar-authority averages recomputed from the councils' own figures, one row per
-- group (County, District, Metropolitan Borough, Unitary, London Borough), financial year and measure,
-- beside the average the Ombudsman published for that group: which councils form the group (every
-- authority of that type that existed for the whole year, from the reference data), how many of them the
-- loaded statistics hold, and whether the published average is the recomputation as rounded.
-- Only a national file (every council of the group) can be recomputed: a group the statistics hold only
-- part of is 'group incomplete', never a mismatch. One definition: macro ombudsman_similar_average.
with

statistics as (
    select * from {{ ref('fct_ombudsman_annual_statistics') }}
),

authorities as (
    select * from {{ ref('stg_reference__authorities') }}
),

years as (
    select distinct
        financial_year,
        financial_year_start
    from statistics
),

-- The group as the reference data defines it: every authority of the type that existed from 1 April to
-- 31 March (an authority abolished or created mid-reorganisation belongs to the years it was whole).
members as (
    select
        years.financial_year,
        authorities.authority_type as similar_authority_group,
        authorities.ons_code,
        authorities.authority_name
    from years
    cross join authorities
    where
        (
            authorities.valid_from is null
            or authorities.valid_from::date <= make_date(years.financial_year_start, 4, 1)
        )
        and (
            authorities.valid_to is null
            or authorities.valid_to::date >= make_date(years.financial_year_start + 1, 3, 31)
        )
),

groups as (
    select
        members.financial_year,
        members.similar_authority_group,
        count(*) as councils_in_group,
        count(statistics.ons_code) as councils_in_statistics,
        string_agg(members.authority_name, '; ' order by members.authority_name)
        filter (where statistics.ons_code is null) as councils_missing
    from members
    left join statistics
        on
            members.ons_code = statistics.ons_code
            and members.financial_year = statistics.financial_year
    group by members.financial_year, members.similar_authority_group
),

-- One row per council-year and measure: the counts the average is made of, and the average published.
-- A table of four rows per council-year, written as one: each branch's values on a line, named by the first.
-- noqa: disable=LT09, AL03
measures as (
    select
        financial_year, similar_authority_group, authority_name, 'uphold_rate_pct' as measure, 0 as digits,
        100.0 as scale, upheld::numeric as numerator, detailed_investigations::numeric as denominator,
        similar_authority_uphold_rate_pct as published_average
    from statistics
    union all
    select
        financial_year, similar_authority_group, authority_name, 'satisfactory_remedy_rate_pct', 0,
        100.0, satisfactory_remedies::numeric, upheld::numeric,
        similar_authority_satisfactory_remedy_rate_pct
    from statistics
    union all
    select
        financial_year, similar_authority_group, authority_name, 'upheld_per_100k', 1,
        100000.0, upheld::numeric, population::numeric,
        similar_authority_upheld_per_100k
    from statistics
    union all
    -- Compliance outcomes are counted, not which complied: the average is shown, not recomputed.
    select
        financial_year, similar_authority_group, authority_name, 'compliance_rate_pct', 0,
        100.0, null::numeric, null::numeric,
        similar_authority_compliance_rate_pct
    from statistics
),
-- noqa: enable=LT09, AL03

aggregated as (
    select
        measures.financial_year,
        measures.similar_authority_group,
        measures.measure,
        min(measures.digits) as digits,
        count(*) as councils,
        string_agg(measures.authority_name, '; ' order by measures.authority_name)
            as councils_in_statistics_names,
        -- Every council of the group needs its counts (and, per 100,000, its population).
        count(*) filter (where measures.numerator is null or measures.denominator is null)
            as councils_without_counts,
        count(*) filter (where measures.measure = 'upheld_per_100k' and measures.denominator is null)
            as councils_without_population,
        {{ ombudsman_similar_average('measures.scale * measures.numerator', 'measures.denominator') }}
            as recomputed_unrounded,
        min(measures.published_average) as published_average,
        count(distinct measures.published_average) as published_values
    from measures
    group by measures.financial_year, measures.similar_authority_group, measures.measure
),

final as (
    select
        (
            aggregated.similar_authority_group || ' ' || aggregated.financial_year
            || '|' || aggregated.measure
        )::text as average_key,
        aggregated.similar_authority_group::text as similar_authority_group,
        aggregated.financial_year::text as financial_year,
        aggregated.measure::text as measure,
        groups.councils_in_group::int as councils_in_group,
        groups.councils_in_statistics::int as councils_in_statistics,
        aggregated.councils_in_statistics_names::text as councils,
        groups.councils_missing::text as councils_missing,
        aggregated.published_average::numeric as published_average,
        round(aggregated.recomputed_unrounded, aggregated.digits)::numeric as recomputed_average,
        aggregated.recomputed_unrounded::numeric as recomputed_unrounded,
        -- The published rounding: a whole percent, or one decimal per 100,000.
        (0.5 * power(10, -aggregated.digits))::numeric as tolerance,
        (case
            when aggregated.published_average is null then 'not published'
            when aggregated.published_values > 1 then 'published values disagree'
            when aggregated.measure = 'compliance_rate_pct' then 'not recomputed'
            when groups.councils_in_group is null or groups.councils_in_statistics < groups.councils_in_group
                then 'group incomplete'
            when aggregated.councils_without_population > 0 then 'no population'
            when aggregated.councils_without_counts > 0 then 'no counts'
            when aggregated.recomputed_unrounded is null then 'no counts'
            when
                abs(aggregated.recomputed_unrounded - aggregated.published_average)
                <= 0.5 * power(10, -aggregated.digits)
                then 'matches'
            else 'differs'
        end)::text as recomputation
    from aggregated
    left join groups
        on
            aggregated.financial_year = groups.financial_year
            and aggregated.similar_authority_group = groups.similar_authority_group
)

select * from final
