-- The BMMR's counts per calendar month, directorate and procedure. Each figure is counted in the month
-- of its own event: received, closed, a stage responded, Stage 2 opened (an escalation), a financial
-- remedy agreed, a payment made, an Ombudsman decision. Stage figures count stages (a case that
-- escalates counts at each stage); the rest count cases, remedies or payments.
with

representations as (
    select * from {{ ref('fct_representations') }}
),

stages as (
    select * from {{ ref('fct_complaint_stages') }}
),

outcomes as (
    select * from {{ ref('dim_outcome') }}
),

remedies as (
    select * from {{ ref('fct_remedies') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

ombudsman_cases as (
    select * from {{ ref('stg_case_system__ombudsman_cases') }}
),

received as (
    select
        date_trunc('month', received_date)::date as report_month,
        directorate,
        procedure_code,
        count(*) as representations_received,
        count(*) filter (where representation_type = 'complaint') as complaints_received,
        count(*) filter (where representation_type = 'compliment') as compliments_received
    from representations
    group by 1, 2, 3
),

closed as (
    select
        date_trunc('month', closed_date)::date as report_month,
        directorate,
        procedure_code,
        count(*) as representations_closed,
        count(*) filter (where representation_type = 'complaint') as complaints_closed
    from representations
    where status = 'closed' and closed_date is not null
    group by 1, 2, 3
),

-- The council's own stages (0-3) answered in the month, on time or not, and how they ended.
responded as (
    select
        date_trunc('month', stages.responded_date)::date as report_month,
        stages.directorate,
        stages.procedure_code,
        count(*) filter (where stages.stage_number = 0) as stage_0_responded,
        count(*) filter (
            where stages.stage_number = 0 and stages.is_within_timescale
        ) as stage_0_within_timescale,
        count(*) filter (where stages.stage_number = 1) as stage_1_responded,
        count(*) filter (
            where stages.stage_number = 1 and stages.is_within_timescale
        ) as stage_1_within_timescale,
        count(*) filter (where stages.stage_number = 2) as stage_2_responded,
        count(*) filter (
            where stages.stage_number = 2 and stages.is_within_timescale
        ) as stage_2_within_timescale,
        count(*) filter (where stages.stage_number = 3) as stage_3_responded,
        count(*) filter (
            where stages.stage_number = 3 and stages.is_within_timescale
        ) as stage_3_within_timescale,
        count(*) filter (where outcomes.reporting_group_code = 'upheld') as outcome_upheld,
        count(*) filter (where outcomes.reporting_group_code = 'not_upheld') as outcome_not_upheld,
        count(*) filter (
            where outcomes.reporting_group_code = 'withdrawn_resolved'
        ) as outcome_withdrawn_resolved,
        count(*) filter (where outcomes.reporting_group_code = 'not_pursued') as outcome_not_pursued
    from stages
    left join outcomes
        on stages.outcome_code = outcomes.outcome_code
    where stages.stage_number <= 3 and stages.responded_date is not null
    group by 1, 2, 3
),

-- Escalations Stage 1 -> 2: Stage 2 stages opened in the month.
escalated as (
    select
        date_trunc('month', opened_date)::date as report_month,
        directorate,
        procedure_code,
        count(*) as stage_2_escalations
    from stages
    where stage_number = 2
    group by 1, 2, 3
),

financial_remedies as (
    select
        date_trunc('month', agreed_date)::date as report_month,
        directorate,
        procedure_code,
        count(*) as financial_remedies,
        coalesce(sum(amount_gbp), 0) as financial_remedies_gbp
    from remedies
    where is_financial
    group by 1, 2, 3
),

paid as (
    select
        date_trunc('month', payment_date)::date as report_month,
        directorate,
        procedure_code,
        count(*) as payments,
        sum(amount_gbp) as payments_gbp
    from payments
    group by 1, 2, 3
),

-- The council's own record of Ombudsman decisions, for cases the warehouse holds (directorate and
-- procedure come from the case).
ombudsman_decided as (
    select
        date_trunc('month', ombudsman_cases.decision_date)::date as report_month,
        representations.directorate,
        representations.procedure_code,
        count(*) as ombudsman_decisions,
        count(*) filter (where ombudsman_cases.decision_code = 'upheld') as ombudsman_upheld
    from ombudsman_cases
    inner join representations
        on ombudsman_cases.representation_key = representations.representation_key
    where ombudsman_cases.decision_date is not null
    group by 1, 2, 3
),

keys as (
    select
        report_month,
        directorate,
        procedure_code
    from received
    union
    select
        report_month,
        directorate,
        procedure_code
    from closed
    union
    select
        report_month,
        directorate,
        procedure_code
    from responded
    union
    select
        report_month,
        directorate,
        procedure_code
    from escalated
    union
    select
        report_month,
        directorate,
        procedure_code
    from financial_remedies
    union
    select
        report_month,
        directorate,
        procedure_code
    from paid
    union
    select
        report_month,
        directorate,
        procedure_code
    from ombudsman_decided
),

final as (
    select
        keys.report_month,
        keys.directorate,
        keys.procedure_code,
        coalesce(received.representations_received, 0) as representations_received,
        coalesce(received.complaints_received, 0) as complaints_received,
        coalesce(received.compliments_received, 0) as compliments_received,
        coalesce(closed.representations_closed, 0) as representations_closed,
        coalesce(closed.complaints_closed, 0) as complaints_closed,
        coalesce(responded.stage_0_responded, 0) as stage_0_responded,
        coalesce(responded.stage_0_within_timescale, 0) as stage_0_within_timescale,
        coalesce(responded.stage_1_responded, 0) as stage_1_responded,
        coalesce(responded.stage_1_within_timescale, 0) as stage_1_within_timescale,
        coalesce(responded.stage_2_responded, 0) as stage_2_responded,
        coalesce(responded.stage_2_within_timescale, 0) as stage_2_within_timescale,
        coalesce(responded.stage_3_responded, 0) as stage_3_responded,
        coalesce(responded.stage_3_within_timescale, 0) as stage_3_within_timescale,
        coalesce(escalated.stage_2_escalations, 0) as stage_2_escalations,
        coalesce(responded.outcome_upheld, 0) as outcome_upheld,
        coalesce(responded.outcome_not_upheld, 0) as outcome_not_upheld,
        coalesce(responded.outcome_withdrawn_resolved, 0) as outcome_withdrawn_resolved,
        coalesce(responded.outcome_not_pursued, 0) as outcome_not_pursued,
        coalesce(financial_remedies.financial_remedies, 0) as financial_remedies,
        coalesce(financial_remedies.financial_remedies_gbp, 0) as financial_remedies_gbp,
        coalesce(paid.payments, 0) as payments,
        coalesce(paid.payments_gbp, 0) as payments_gbp,
        coalesce(ombudsman_decided.ombudsman_decisions, 0) as ombudsman_decisions,
        coalesce(ombudsman_decided.ombudsman_upheld, 0) as ombudsman_upheld
    from keys
    left join received
        on
            keys.report_month = received.report_month
            and keys.directorate = received.directorate
            and keys.procedure_code = received.procedure_code
    left join closed
        on
            keys.report_month = closed.report_month
            and keys.directorate = closed.directorate
            and keys.procedure_code = closed.procedure_code
    left join responded
        on
            keys.report_month = responded.report_month
            and keys.directorate = responded.directorate
            and keys.procedure_code = responded.procedure_code
    left join escalated
        on
            keys.report_month = escalated.report_month
            and keys.directorate = escalated.directorate
            and keys.procedure_code = escalated.procedure_code
    left join financial_remedies
        on
            keys.report_month = financial_remedies.report_month
            and keys.directorate = financial_remedies.directorate
            and keys.procedure_code = financial_remedies.procedure_code
    left join paid
        on
            keys.report_month = paid.report_month
            and keys.directorate = paid.directorate
            and keys.procedure_code = paid.procedure_code
    left join ombudsman_decided
        on
            keys.report_month = ombudsman_decided.report_month
            and keys.directorate = ombudsman_decided.directorate
            and keys.procedure_code = ombudsman_decided.procedure_code
)

select * from final
