-- The latest delivered version of each council-year's published Ombudsman statistics, keyed by the
-- authority the published name resolves to (its ONS code, through the reference names and variants),
-- not by the name as spelled: a republished file that writes "Worcestershire CC" replaces the figures
-- it had published as "Worcestershire County Council" for that year (as the loader keys them).
with

-- The reference names as stg_reference__authority_names has them (one macro: a staging model reads
-- sources only).
names as (
    {{ latest_authority_names() | indent(4) }}
),

versions as (
    select
        statistics.*,
        names.ons_code,
        coalesce(names.ons_code, {{ authority_name_key('statistics.authority_name') }}) as authority_key,
        row_number() over (
            partition by
                statistics._source_system,
                coalesce(names.ons_code, {{ authority_name_key('statistics.authority_name') }}),
                statistics.financial_year
            order by statistics._batch_id desc, statistics._row_number desc nulls first
        ) as version_rank
    from {{ source('ombudsman', 'annual_statistics') }} as statistics  -- noqa: RF04
    left join names
        on {{ authority_name_key('statistics.authority_name') }} = names.authority_name_key
),

source as (
    select * from versions
    where version_rank = 1 and not _is_deleted
),

renamed as (
    select
        authority_key || ' ' || financial_year as authority_year_key,
        ons_code,
        authority_name,
        {{ authority_name_key('authority_name') }} as authority_name_key,
        authority_type,
        financial_year,
        left(financial_year, 4)::int as financial_year_start,
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
        uphold_rate_pct as published_uphold_rate_pct,
        similar_authority_uphold_rate_pct,
        compliance_outcomes::int as compliance_outcomes,
        compliance_rate_pct as published_compliance_rate_pct,
        similar_authority_compliance_rate_pct,
        satisfactory_remedies::int as satisfactory_remedies,
        satisfactory_remedy_rate_pct as published_satisfactory_remedy_rate_pct,
        similar_authority_satisfactory_remedy_rate_pct,
        upheld_per_100k as published_upheld_per_100k,
        similar_authority_upheld_per_100k,
        mapping_version::int as mapping_version,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
