-- One row per representation: what it was, where it was handled, how far it went and how it ended.
with

representations as (
    select * from {{ ref('int_representations__unified') }}
),

stage_rollup as (
    select * from {{ ref('int_representations__stage_rollup') }}
),

final as (
    select
        representations.representation_key::text as representation_key,
        representations.source_system::text as source_system,
        representations.representation_id::text as representation_id,
        representations.authority_code::text as authority_code,
        representations.representation_type::text as representation_type,
        representations.procedure_code::text as procedure_code,
        (representations.source_system || ':' || representations.service_area_code)::text as service_area_key,
        representations.directorate::text as directorate,
        representations.received_date::date as received_date,
        representations.closed_date::date as closed_date,
        representations.status::text as status,
        representations.complainant_pseudonym::text as complainant_pseudonym,
        coalesce(stage_rollup.stage_count, 0)::int as stage_count,
        stage_rollup.highest_stage::int as highest_stage,
        stage_rollup.final_outcome_code::text as final_outcome_code,
        coalesce(stage_rollup.is_escalated_to_stage_2, false)::boolean as is_escalated_to_stage_2,
        (representations.closed_date - representations.received_date)::int as days_open,
        representations.batch_id::bigint as batch_id
    from representations
    left join stage_rollup
        on representations.representation_key = stage_rollup.representation_key
)

select * from final
