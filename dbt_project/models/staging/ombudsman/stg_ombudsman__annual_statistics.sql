-- The latest delivered version of each council-year's published Ombudsman statistics.
with

source as (
    {{ latest_versions(source('ombudsman', 'annual_statistics'), ['authority_name', 'financial_year']) }}
),

renamed as (
    select
        authority_name || ' ' || financial_year as authority_year_key,
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
