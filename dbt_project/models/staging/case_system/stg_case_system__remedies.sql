-- The current version of each remedy agreed to put a complaint right.
with

source as (
    {{ latest_versions(source('case_system', 'remedies'), ['remedy_id'], version_column='updated_at') }}
),

renamed as (
    select
        _source_system || ':' || remedy_id as remedy_key,
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        remedy_id,
        representation_id,
        stage as stage_code,
        remedy_type,
        recommended_by,
        agreed_date,
        due_date,
        completed_date,
        amount as amount_gbp,
        updated_at as source_updated_at,
        _batch_id as batch_id
    from source
)

select * from renamed
