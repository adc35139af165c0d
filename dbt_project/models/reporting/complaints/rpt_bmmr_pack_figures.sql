-- Every figure the BMMR pack shows for a published month, from that month's latest published version:
-- the council and each directorate, for the month and the financial year to date; counts and money summed
-- over procedures (and directorates), outcomes recorded, and the rates recomputed from the sums (never
-- averaged). A view over the published schema (never rebuilt by dbt): a new version shows at once.
{{ config(materialized='view', schema='marts') }}
-- noqa: disable=LT02
with

published as (
    select * from {{ source('published', 'bmmr_current') }}
),

cells as (
    select
        report_month,
        version,
        period,
        'council' as scope,
        '' as directorate,
        measure,
        value
    from published
    union all
    select
        report_month,
        version,
        period,
        'directorate' as scope,
        directorate,
        measure,
        value
    from published
),

summed as (
    {{ bmmr_wide_figures('cells', ['report_month', 'version', 'period', 'scope', 'directorate']) }}
),

final as (
    select
        (to_char(report_month, 'YYYY-MM') || '|' || period || '|' || scope || '|' || directorate)::text
            as rpt_bmmr_pack_figures_key,
        report_month::date as report_month,
        ({{ financial_year('report_month') }})::text as financial_year,
        {{ financial_year_start_month('report_month') }} as financial_year_start_month,
        version::int as version,  -- noqa: RF04
        period::text as period,
        scope::text as scope,
        nullif(directorate, '')::text as directorate,
        {{ bmmr_figure_columns() }}
    from summed
)

select * from final
