-- The current version of each complaint point (one complaint can raise several).
with

source as (
    {{ latest_versions(
        source('case_system', 'complaint_points'), ['point_id'], version_column='updated_at'
    ) }}
),

renamed as (
    select
        _source_system || ':' || point_id as point_key,
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        point_id,
        representation_id,
        nature as nature_code,
        outcome as outcome_code,
        updated_at as source_updated_at,
        _batch_id as batch_id
    from source
)

select * from renamed
