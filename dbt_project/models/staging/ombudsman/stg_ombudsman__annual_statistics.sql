-- The latest delivered version of each council-year's published Ombudsman statistics.
with

source as (
    select * from {{ source('ombudsman', 'annual_statistics') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by authority_name, financial_year order by _batch_id desc, _row_number desc
        ) as version_rank
    from source
),

renamed as (
    select
        authority_name || ' ' || financial_year as authority_year_key,
        authority_name,
        authority_type,
        financial_year,
        left(financial_year, 4)::int as financial_year_start,
        detailed_investigations::int as detailed_investigations,
        upheld::int as upheld,
        uphold_rate_pct as published_uphold_rate_pct,
        similar_authority_uphold_rate_pct,
        compliance_rate_pct as published_compliance_rate_pct,
        satisfactory_remedies::int as satisfactory_remedies,
        satisfactory_remedy_rate_pct as published_satisfactory_remedy_rate_pct,
        similar_authority_satisfactory_remedy_rate_pct,
        upheld_per_100k as published_upheld_per_100k,
        similar_authority_upheld_per_100k,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest
    where version_rank = 1
)

select * from renamed
