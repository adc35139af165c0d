-- One row per representation that reached any stage: how far it went through the council's own
-- stages (0-3), how it ended, and whether it escalated (to Stage 2, Stage 3, the Ombudsman).
with

stages as (
    select * from {{ ref('stg_case_system__stages') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by representation_key, stage_number <= 3 order by stage_number desc
        ) as stage_rank_desc
    from stages
),

rolled_up as (
    select
        representation_key,
        count(*) filter (where stage_number <= 3) as stage_count,
        max(stage_number) filter (where stage_number <= 3) as highest_stage,
        max(outcome_code) filter (where stage_number <= 3 and stage_rank_desc = 1) as final_outcome_code,
        coalesce(bool_or(stage_number = 1), false) as has_stage_1,
        coalesce(bool_or(stage_number between 2 and 3), false) as is_escalated_to_stage_2,
        coalesce(bool_or(stage_number = 3), false) as is_escalated_to_stage_3,
        coalesce(bool_or(stage_number = 4), false) as is_escalated_to_ombudsman
    from ranked
    group by representation_key
)

select * from rolled_up
