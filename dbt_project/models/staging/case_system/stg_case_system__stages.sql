-- The current version of each complaint stage, renamed and typed.
with

source as (
    {{ latest_versions(
        source('case_system', 'stages'), ['representation_id', 'stage'], version_column='updated_at'
    ) }}
),

renamed as (
    select
        _source_system || ':' || representation_id || ':' || stage as stage_key,
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        representation_id,
        stage as stage_code,
        -- The Ombudsman comes after the council's own stages.
        case stage when 'ombudsman' then 4 else stage::int end as stage_number,
        opened_date,
        due_date,
        extended_due_date,
        coalesce(suspended_days, 0)::int as suspended_days,
        responded_date,
        outcome as outcome_code,
        investigator,
        investigation_cost as investigation_cost_gbp,
        updated_at as source_updated_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
