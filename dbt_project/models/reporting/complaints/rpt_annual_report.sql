-- Every figure the statutory annual report shows, per financial year and procedure scope (each procedure,
-- and "all" procedures summed): each cell of annual_report with last year's beside it and the change,
-- the names and order its rows are shown in, each section's totals, and the two rates of the summary.
-- A category held in either year is listed in both (0 where it had none); last year is empty when the
-- scope had no figures at all a year earlier.
{{ config(materialized='table', schema='marts') }}
with

cells as (
    select * from {{ ref('annual_report') }}
),

procedures as (
    select * from {{ ref('dim_procedure') }}
),

natures as (
    select * from {{ ref('dim_complaint_nature') }}
),

outcome_groups as (
    select
        reporting_group,
        min(reporting_group_order) as group_order
    from {{ ref('dim_outcome') }}
    group by reporting_group
),

scoped as (
    select
        financial_year,
        procedure_code,
        section,
        category,
        cell_value
    from cells
    union all
    select
        financial_year,
        'all' as procedure_code,
        section,
        category,
        sum(cell_value) as cell_value
    from cells
    group by financial_year, section, category
),

years as (
    select distinct
        financial_year,
        procedure_code,
        {{ financial_year_start_date('financial_year') }} as year_start_date
    from scoped
),

framed as (
    select
        financial_year,
        procedure_code,
        year_start_date,
        ({{ financial_year("(year_start_date - interval '1 year')") }}) as previous_financial_year
    from years
),

categories as (
    select distinct
        framed.financial_year,
        framed.previous_financial_year,
        framed.year_start_date,
        framed.procedure_code,
        scoped.section,
        scoped.category
    from framed
    inner join scoped
        on
            framed.procedure_code = scoped.procedure_code
            and scoped.financial_year in (framed.financial_year, framed.previous_financial_year)
),

valued as (
    select
        categories.*,
        coalesce(this_year.cell_value, 0) as this_year,
        case
            when previous.procedure_code is not null then coalesce(last_year.cell_value, 0)
        end as last_year,
        (categories.section, categories.category) = ('9 payments', 'GBP paid') as is_money
    from categories
    left join scoped as this_year
        on
            categories.financial_year = this_year.financial_year
            and categories.procedure_code = this_year.procedure_code
            and categories.section = this_year.section
            and categories.category = this_year.category
    left join scoped as last_year
        on
            categories.previous_financial_year = last_year.financial_year
            and categories.procedure_code = last_year.procedure_code
            and categories.section = last_year.section
            and categories.category = last_year.category
    -- The previous year, when there is one (each year's years row: the same pairs as scoped's).
    left join years as previous
        on
            categories.previous_financial_year = previous.financial_year
            and categories.procedure_code = previous.procedure_code
),

totalled as (
    select
        valued.*,
        sum(valued.this_year) filter (where not valued.is_money) over by_section as section_total_this_year,
        sum(valued.last_year) filter (where not valued.is_money) over by_section as section_total_last_year,
        sum(valued.this_year) filter (
            where valued.section = '4 timescale bands'
        ) over by_year as responses_banded,
        sum(valued.this_year) filter (
            where valued.section = '4 timescale bands' and valued.category = 'within 20 working days'
        ) over by_year as responses_within_20_days,
        sum(valued.this_year) filter (where valued.section = '3 outcomes') over by_year as outcomes_recorded,
        sum(valued.this_year) filter (
            where valued.section = '3 outcomes' and valued.category = 'Upheld/partly upheld'
        ) over by_year as outcomes_upheld
    from valued
    window
        by_section as (partition by valued.financial_year, valued.procedure_code, valued.section),
        by_year as (partition by valued.financial_year, valued.procedure_code)
),

final as (
    select
        (
            totalled.financial_year || '|' || totalled.procedure_code || '|' || totalled.section || '|'
            || totalled.category
        )::text as rpt_annual_report_key,
        totalled.financial_year::text as financial_year,
        totalled.previous_financial_year::text as previous_financial_year,
        totalled.year_start_date::date as year_start_date,
        (totalled.year_start_date + interval '1 year' - interval '1 day')::date as year_end_date,
        totalled.procedure_code::text as procedure_code,
        (case
            when totalled.procedure_code = 'all' then 'All procedures' else procedures.procedure_name
        end)::text as procedure_name,
        totalled.section::text as section,
        totalled.category::text as category,
        natures.nature_name::text as category_name,
        (case
            when totalled.section = '5 nature of complaints' then natures.sort_order
            when totalled.section = '3 outcomes' then outcome_groups.group_order
        end)::int as category_order,
        totalled.is_money::boolean as is_money,
        totalled.this_year::numeric as this_year,
        totalled.last_year::numeric as last_year,
        (totalled.this_year - totalled.last_year)::numeric as change_from_last_year,
        totalled.section_total_this_year::numeric as section_total_this_year,
        totalled.section_total_last_year::numeric as section_total_last_year,
        (totalled.section_total_this_year - totalled.section_total_last_year)::numeric
            as section_total_change,
        {{ bmmr_ratio('totalled.responses_within_20_days', 'totalled.responses_banded') }}::numeric
            as within_20_working_days_pct,
        {{ bmmr_ratio('totalled.outcomes_upheld', 'totalled.outcomes_recorded') }}::numeric as upheld_pct
    from totalled
    left join procedures
        on totalled.procedure_code = procedures.procedure_code
    left join natures
        on
            totalled.section = '5 nature of complaints'
            and totalled.category = natures.nature_code
    left join outcome_groups
        on
            totalled.section = '3 outcomes'
            and totalled.category = outcome_groups.reporting_group
)

select * from final
