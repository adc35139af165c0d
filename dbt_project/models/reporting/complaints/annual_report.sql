-- The tables of a statutory annual report, per financial year and procedure, in one long table: each
-- row is one cell (section, category, value) with last year's value beside it. Sections follow the
-- councils' annual reports: representations received, complaints by stage, outcomes, timescale bands,
-- nature of complaints, service areas, compliments by service, Ombudsman outcomes, payments.
with

representations as (
    select * from {{ ref('fct_representations') }}
),

stages as (
    select * from {{ ref('fct_complaint_stages') }}
),

points as (
    select * from {{ ref('fct_complaint_points') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

outcomes as (
    select * from {{ ref('dim_outcome') }}
),

service_areas as (
    select * from {{ ref('dim_service_area') }}
),

ombudsman_records as (
    select * from {{ ref('ombudsman_reconciliation') }}
    where reconciliation_status <> 'only theirs'
),

-- Each branch of the union takes its column names from the first.
-- noqa: disable=AL03
cells as (
    select
        received_date as event_date,
        procedure_code,
        '1 representations received' as section,
        representation_type as category,
        1::numeric as amount
    from representations
    union all
    select
        opened_date,
        procedure_code,
        '2 complaints by stage',
        'stage ' || stage_code,
        1
    from stages
    union all
    select
        stages.responded_date,
        stages.procedure_code,
        '3 outcomes',
        coalesce(outcomes.reporting_group, 'not recorded'),
        1
    from stages
    left join outcomes
        on stages.outcome_code = outcomes.outcome_code
    where stages.responded_date is not null and stages.stage_number <= 3
    union all
    select
        responded_date,
        procedure_code,
        '4 timescale bands',
        case
            when working_days_taken <= 20 then 'within 20 working days'
            when working_days_taken <= 40 then '21 to 40 working days'
            else 'over 40 working days'
        end,
        1
    from stages
    where responded_date is not null and stage_number <= 3
    union all
    select
        received_date,
        procedure_code,
        '5 nature of complaints',
        nature_code,
        1
    from points
    union all
    select
        representations.received_date,
        representations.procedure_code,
        case
            when representations.representation_type = 'compliment' then '7 compliments by service'
            else '6 complaints by service area'
        end,
        coalesce(service_areas.service_area_name, 'unknown'),
        1
    from representations
    left join service_areas
        on representations.service_area_key = service_areas.service_area_key
    where representations.representation_type in ('complaint', 'compliment')
    union all
    select
        ombudsman_records.our_decision_date,
        representations.procedure_code,
        '8 Ombudsman outcomes',
        coalesce(ombudsman_records.our_decision, 'not decided'),
        1
    from ombudsman_records
    inner join representations
        on ombudsman_records.representation_key = representations.representation_key
    where ombudsman_records.our_decision_date is not null
    union all
    select
        payment_date,
        procedure_code,
        '9 payments',
        'payments made',
        1
    from payments
    union all
    select
        payment_date,
        procedure_code,
        '9 payments',
        'GBP paid',
        amount_gbp
    from payments
),

-- noqa: enable=AL03
by_year as (
    select
        {{ financial_year_start_year('event_date') }} as financial_year_start,
        procedure_code,
        section,
        category,
        sum(amount) as cell_value
    from cells
    where event_date is not null
    group by 1, 2, 3, 4
),

final as (
    select
        (
            this_year.financial_year_start || '|' || this_year.procedure_code || '|' || this_year.section
            || '|' || this_year.category
        )::text as annual_report_key,
        (
            this_year.financial_year_start::text || '/'
            || lpad(((this_year.financial_year_start + 1) % 100)::text, 2, '0')
        )::text as financial_year,
        this_year.procedure_code::text as procedure_code,
        this_year.section::text as section,
        this_year.category::text as category,
        this_year.cell_value::numeric as cell_value,
        last_year.cell_value::numeric as previous_year_value,
        (this_year.cell_value - last_year.cell_value)::numeric as change_from_previous_year
    from by_year as this_year
    left join by_year as last_year
        on
            this_year.financial_year_start - 1 = last_year.financial_year_start
            and this_year.procedure_code = last_year.procedure_code
            and this_year.section = last_year.section
            and this_year.category = last_year.category
)

select * from final
