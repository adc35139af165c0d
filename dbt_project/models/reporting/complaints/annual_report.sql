-- The tables of a statutory annual report, per financial year and procedure, in one long table: each
-- row is one cell (section, category, value) with last year's value beside it. Sections follow the
-- councils' annual reports: representations received, complaints by stage, outcomes, timescale bands,
-- nature of complaints, service areas, compliments by service, Ombudsman outcomes, payments.
-- The cells from the facts are added up night by night in int_annual_report__fact_cells (the cells
-- left with rows); the Ombudsman's outcomes (the reconciliation, rebuilt whole each night) are added up
-- here.
with

fact_cells as (
    select * from {{ ref('int_annual_report__fact_cells') }}
    where cells > 0
),

representations as (
    select * from {{ ref('fct_representations') }}
),

ombudsman_records as (
    select * from {{ ref('ombudsman_reconciliation') }}
    where reconciliation_status <> 'only theirs'
),

ombudsman_cells as (
    select
        {{ financial_year_start_year('ombudsman_records.our_decision_date') }} as financial_year_start,
        representations.procedure_code,
        '8 Ombudsman outcomes' as section,
        coalesce(ombudsman_records.our_decision, 'not decided') as category,
        count(*)::numeric as cell_value
    from ombudsman_records
    inner join representations
        on ombudsman_records.representation_key = representations.representation_key
    where ombudsman_records.our_decision_date is not null
    group by 1, 2, 3, 4
),

by_year as (
    select
        financial_year_start,
        procedure_code,
        section,
        category,
        cell_value
    from fact_cells
    union all
    select
        financial_year_start,
        procedure_code,
        section,
        category,
        cell_value
    from ombudsman_cells
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
