-- Every version of each service area: councils reorganise, so a code belongs to different
-- directorates over time (valid_from / valid_to).
with

source as (
    {{ latest_versions(
        source('case_system', 'service_areas'), ['service_area_code', 'valid_from'], version_column='updated_at'
    ) }}
),

renamed as (
    select
        _source_system || ':' || service_area_code || ':' || valid_from as service_area_version_key,
        _source_system as source_system,
        service_area_code,
        service_area_name,
        directorate,
        valid_from,
        valid_to,
        updated_at as source_updated_at,
        _batch_id as batch_id
    from source
)

select * from renamed
