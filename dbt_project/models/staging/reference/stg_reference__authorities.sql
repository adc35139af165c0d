-- The latest description of each authority, by ONS code.
with

source as (
    select * from {{ source('reference', 'authorities') }}
),

latest as (
    select
        *,
        row_number() over (partition by ons_code order by _batch_id desc, _row_number desc) as version_rank
    from source
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
    from latest
    where version_rank = 1
)

select * from renamed
