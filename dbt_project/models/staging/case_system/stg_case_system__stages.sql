-- The latest delivered version of each complaint stage, renamed and typed.
with

source as (
    select * from {{ source('case_system', 'stages') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by representation_id, stage order by _batch_id desc, _row_number desc
        ) as version_rank
    from source
),

renamed as (
    select
        representation_id || ':' || stage as stage_key,
        representation_id,
        stage::int as stage_number,
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
    from latest
    where version_rank = 1
)

select * from renamed
