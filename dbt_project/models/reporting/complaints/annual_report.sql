-- The tables of a statutory annual report, per financial year and procedure, in one long table: each
-- row is one cell (section, category, value) with last year's value beside it. Sections follow the
-- councils' annual reports: representations received, complaints by stage, outcomes, timescale bands,
-- nature of complaints, service areas, compliments by service, Ombudsman outcomes, payments.
-- The cells from the facts are added up night by night in int_annual_report__fact_cells (the cells
-- left with rows); the Ombudsman's outcomes are added up here from the council's own record of its
-- decisions (int_ombudsman__case_decisions, kept night by night: one row per decision).
with

fact_cells as (
    select * from {{ ref('int_annual_report__fact_cells') }}
    where cells > 0
),

ombudsman_decisions as (
    select * from {{ ref('int_ombudsman__case_decisions') }}
),

ombudsman_cells as (
    select
        {{ financial_year_start_year('decision_date') }} as financial_year_start,
        procedure_code,
        '8 Ombudsman outcomes' as section,
        coalesce(decision_code, 'not decided') as category,
        count(*)::numeric as cell_value
    from ombudsman_decisions
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
