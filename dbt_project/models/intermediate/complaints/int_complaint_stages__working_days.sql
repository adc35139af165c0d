-- Each complaint stage measured in working days (weekends and bank holidays of England and Wales
-- excluded, from the shared calendar int_calendar__days), against its timescale.
--   working days taken = working-day index of responded - index of opened - suspended days (never below
--     0); a stage answered the day it opened took 0 working days.
--   within timescale   = responded on or before the (extended) due date plus the suspended working days:
--     the case system's due dates are the deadline (the simulator's and councils' own definition); when
--     a source sends no due date, opened + the procedure's timescale from the procedures seed.
-- The Ombudsman's stage has no council timescale: it is never within or outside one.
with

stages as (
    select * from {{ ref('stg_case_system__stages') }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
),

procedures as (
    select * from {{ ref('procedures') }}
),

calendar as (
    select * from {{ ref('int_calendar__days') }}
),

with_timescale as (
    select
        stages.*,
        -- The same key from the case's side of the join: PostgreSQL does not carry a filter on a list
        -- across a join, so an incremental fact filters both (see fct_complaint_stages).
        representations.representation_key as case_representation_key,
        representations.procedure_code,
        case stages.stage_code
            when '0' then procedures.stage_0_working_days
            when '1' then procedures.stage_1_working_days
            when '2' then procedures.stage_2_working_days
            when '3' then procedures.stage_3_working_days
        end as timescale_working_days
    from stages
    inner join representations
        on stages.representation_key = representations.representation_key
    left join procedures
        on representations.procedure_code = procedures.procedure_code
),

-- The working-day index of the day the deadline counts from. A non-working day shares the index of
-- the working day before it, so a deadline falling on one moves to the next working day (+1).
deadline_base as (
    select
        with_timescale.*,
        opened_day.working_day_index as opened_index,
        responded_day.working_day_index as responded_index,
        case
            when with_timescale.stage_code = 'ombudsman' then null
            when coalesce(with_timescale.extended_due_date, with_timescale.due_date) is not null
                then due_day.working_day_index + case when due_day.is_working_day then 0 else 1 end
            else
                opened_day.working_day_index + case when opened_day.is_working_day then 0 else 1 end
                + with_timescale.timescale_working_days
        end + with_timescale.suspended_days as deadline_index
    from with_timescale
    left join calendar as opened_day
        on with_timescale.opened_date = opened_day.date_day
    left join calendar as responded_day
        on with_timescale.responded_date = responded_day.date_day
    left join calendar as due_day
        on coalesce(with_timescale.extended_due_date, with_timescale.due_date) = due_day.date_day
),

measured as (
    select
        deadline_base.*,
        deadline_day.date_day as timescale_deadline_date,
        case
            when deadline_base.responded_date is not null
                then greatest(
                    deadline_base.responded_index - deadline_base.opened_index
                    - deadline_base.suspended_days,
                    0
                )
        end as working_days_taken
    from deadline_base
    left join calendar as deadline_day
        on
            deadline_base.deadline_index = deadline_day.working_day_index
            and deadline_day.is_working_day
),

final as (
    select
        stage_key,
        representation_key,
        case_representation_key,
        source_system,
        representation_id,
        stage_code,
        stage_number,
        procedure_code,
        opened_date,
        due_date,
        extended_due_date,
        suspended_days,
        responded_date,
        outcome_code,
        investigator,
        investigation_cost_gbp,
        timescale_working_days,
        timescale_deadline_date,
        working_days_taken,
        case
            when responded_date is null or timescale_deadline_date is null then null
            else responded_date <= timescale_deadline_date
        end as is_within_timescale,
        batch_id
    from measured
)

select * from final
