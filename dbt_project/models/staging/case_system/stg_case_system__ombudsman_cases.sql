-- The council's own records of complaints the Ombudsman considered.
with

source as (
    {{ latest_versions(
        source('case_system', 'ombudsman_cases'), ['ombudsman_reference'], version_column='updated_at'
    ) }}
),

renamed as (
    select
        _source_system || ':' || ombudsman_reference as ombudsman_case_key,
        ombudsman_reference,
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        received_date,
        decision_date,
        decision as decision_code,
        remedy_due_date,
        remedy_completed_date,
        updated_at as source_updated_at,
        _batch_id as batch_id
    from source
)

select * from renamed
