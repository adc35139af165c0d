-- The latest description of each authority, by ONS code.
with

source as (
    {{ latest_versions(source('reference', 'authorities'), ['ons_code']) }}
),

renamed as (
    select
        ons_code,
        authority_name,
        authority_type,
        region,
        valid_from,
        valid_to,
        successor_codes
    from source
)

select * from renamed
