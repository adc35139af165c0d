-- One row per representation that reached any complaint stage: how far it went and how it ended.
with

stages as (
    select * from {{ ref('stg_case_system__stages') }}
),

ranked as (
    select
        *,
        row_number() over (partition by representation_id order by stage_number desc) as stage_rank_desc
    from stages
),

rolled_up as (
    select
        representation_id,
        count(*) as stage_count,
        max(stage_number) as highest_stage,
        max(case when stage_rank_desc = 1 then outcome_code end) as final_outcome_code,
        bool_or(stage_number >= 2) as is_escalated_to_stage_2
    from ranked
    group by representation_id
)

select * from rolled_up
