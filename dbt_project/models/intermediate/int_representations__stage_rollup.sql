-- One row per representation that reached any complaint stage: how far it went and how it ended.
with

stages as (
    select * from {{ ref('stg_case_system__stages') }}
),

ranked as (
    select
        *,
        row_number() over (partition by representation_key order by stage_number desc) as stage_rank_desc
    from stages
    where stage_number <= 3
),

rolled_up as (
    select
        representation_key,
        count(*) as stage_count,
        max(stage_number) as highest_stage,
        max(case when stage_rank_desc = 1 then outcome_code end) as final_outcome_code,
        bool_or(stage_number >= 2) as is_escalated_to_stage_2
    from ranked
    group by representation_key
)

select * from rolled_up
