-- The latest published version of each Ombudsman decision, one row per reference.
with

source as (
    select * from {{ source('ombudsman', 'decisions') }}
),

latest as (
    select
        *,
        row_number() over (partition by reference order by _batch_id desc, _row_number desc) as version_rank
    from source
),

renamed as (
    select
        reference,
        authority_name,
        {{ authority_name_key('authority_name') }} as authority_name_key,
        category,
        subcategory,
        decision,
        decision_date,
        summary,
        mapping_version::int as mapping_version,
        _batch_id as batch_id
    from latest
    where version_rank = 1
)

select * from renamed
