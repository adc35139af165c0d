-- One row per representation: what it was, where it was handled, how far it went and how it ended.
with

representations as (
    select * from {{ ref('stg_case_system__representations') }}
),

stage_rollup as (
    select * from {{ ref('int_representations__stage_rollup') }}
),

final as (
    select
        representations.representation_id::text as representation_id,
        representations.representation_type::text as representation_type,
        representations.procedure_code::text as procedure_code,
        representations.service_area_code::text as service_area_code,
        representations.directorate::text as directorate,
        representations.received_date::date as received_date,
        representations.closed_date::date as closed_date,
        representations.status::text as status,
        coalesce(stage_rollup.stage_count, 0)::int as stage_count,
        stage_rollup.highest_stage::int as highest_stage,
        stage_rollup.final_outcome_code::text as final_outcome_code,
        coalesce(stage_rollup.is_escalated_to_stage_2, false)::boolean as is_escalated_to_stage_2,
        (representations.closed_date - representations.received_date)::int as days_open,
        representations.batch_id::bigint as batch_id
    from representations
    left join stage_rollup
        on representations.representation_id = stage_rollup.representation_id
)

select * from final
