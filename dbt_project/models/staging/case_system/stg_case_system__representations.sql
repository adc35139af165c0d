-- The current version of each representation, per source system, renamed and typed.
with

source as (
    {{ latest_versions(
        source('case_system', 'representations'), ['representation_id'], version_column='updated_at'
    ) }}
),

renamed as (
    select
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        representation_id,
        legacy_representation_id,
        authority_code,
        representation_type,
        procedure as procedure_code,
        received_date,
        closed_date,
        status,
        channel,
        service_area_code,
        service_area_name,
        directorate,
        risk_level,
        complainant_pseudonym,
        coalesce(joint_with_nhs, false) as is_joint_with_nhs,
        updated_at as source_updated_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
