-- The annual report's cells from the facts (macro annual_report_fact_cells: every section but the
-- Ombudsman's outcomes) per financial year, procedure, section and category, kept up to date night by
-- night: a nightly build adds the night's change to each cell it touches (the rows the facts wrote, less
-- the rows they took out: macro fact_changes) instead of adding ten years of facts up again. A first
-- build, --full-refresh, a night the facts rebuilt every row, or a changed outcome group or service area
-- name adds every row up (macro aggregate_changes). `cells` is the number of rows behind a cell: a cell
-- whose rows all went stays with 0 and annual_report leaves it out.
-- sqlfluff cannot follow the indentation of the Jinja conditions below:
-- noqa: disable=LT02
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='cell_key',
    on_schema_change='fail',
    post_hook="{{ mark_incremental_built() }}",
) }}
{%- set changes = aggregate_changes(
    ['fct_representations', 'fct_complaint_stages', 'fct_complaint_points', 'fct_payments'],
    "select row("
    ~ "(select array_agg(row(outcome_code, reporting_group) order by outcome_code) from " ~ ref('dim_outcome') ~ "), "
    ~ "(select array_agg(row(service_area_key, service_area_name) order by service_area_key) from "
    ~ ref('dim_service_area') ~ "))",
    annual_report_fact_cells(signed=true) ~ financial_year_start_year('event_date'),
) %}
with

representations as not materialized (
    {{ fact_changes('fct_representations', changes) }}
),

stages as not materialized (
    {{ fact_changes('fct_complaint_stages', changes) }}
),

points as (
    {{ fact_changes('fct_complaint_points', changes) }}
),

payments as not materialized (
    {{ fact_changes('fct_payments', changes) }}
),

outcomes as (
    select * from {{ ref('dim_outcome') }}
),

service_areas as (
    select * from {{ ref('dim_service_area') }}
),

cells as (
    {{ annual_report_fact_cells(signed=true) }}
),

changed as (
    select
        {{ financial_year_start_year('event_date') }} as financial_year_start,
        procedure_code,
        section,
        category,
        sum(_sign) as cells,
        sum(_sign * amount) as cell_value
    from cells
    where event_date is not null
    group by 1, 2, 3, 4
),

final as (
    select
        -- One text per cell, nulls included (a row's text tells an empty value from a missing one).
        row(changed.financial_year_start, changed.procedure_code, changed.section, changed.category)::text
        as cell_key,
        changed.financial_year_start::int as financial_year_start,
        changed.procedure_code::text as procedure_code,
        changed.section::text as section,
        changed.category::text as category,
        {%- if changes.all %}
        changed.cells::bigint as cells,
        changed.cell_value::numeric as cell_value,
        {%- else %}
        (coalesce(previous.cells, 0) + changed.cells)::bigint as cells,
        -- coalesce: the change of a cell whose amounts were all empty is none.
        (coalesce(previous.cell_value, 0) + coalesce(changed.cell_value, 0))::numeric as cell_value,
        {%- endif %}
        -- When the cell was last added up: a nightly run tests only these (nightly_test_scope).
        {{ built_at() }} as built_at
    from changed
    {%- if not changes.all %}
    left join {{ this }} as previous
        on
            previous.cell_key
            = row(changed.financial_year_start, changed.procedure_code, changed.section, changed.category)::text
    {%- endif %}
)

select * from final
