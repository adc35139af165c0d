-- The latest published version of each Ombudsman decision, one row per reference.
with

source as (
    {{ latest_versions(source('ombudsman', 'decisions'), ['reference']) }}
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
    from source
)

select * from renamed
