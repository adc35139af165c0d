-- English councils: ONS code, type (the Ombudsman's similar-authority group), region, validity, names.
with

authorities as (
    select * from {{ ref('stg_reference__authorities') }}
),

names as (
    select * from {{ ref('stg_reference__authority_names') }}
),

variants as (
    select
        ons_code,
        string_agg(authority_name, '; ' order by authority_name) as name_variants
    from names
    group by ons_code
),

final as (
    select
        authorities.ons_code::text as ons_code,
        authorities.authority_name::text as authority_name,
        authorities.authority_type::text as authority_type,
        authorities.region::text as region,
        authorities.valid_from::date as valid_from,
        authorities.valid_to::date as valid_to,
        authorities.successor_codes::text as successor_codes,
        (authorities.valid_to is null)::boolean as is_current,
        coalesce(variants.name_variants, authorities.authority_name)::text as name_variants
    from authorities
    left join variants
        on authorities.ons_code = variants.ons_code
)

select * from final
