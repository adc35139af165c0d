-- The latest BMMR month is explained by its cases in bmmr_figure_cases: every count and sum of money equals
-- what its cases add up to (the number of its rows for a count, the sum of their value for money), and
-- every case row names a bmmr_monthly row, a measure and a case reference.
-- One test, one pass: the latest month's cases are derived once and every check reads them.
-- Every period on a full build (and by hand); a nightly build (the var test_recomputed_rows_only) checks the
-- month itself and the same month last year, not the financial year to date: listing the year to date's
-- cases lists every event since April (at national scale, 2.5 million rows, most of a night's tests), and
-- the nightly checkpoint already checks each of its figures (bmmr_figure_cases: each month's figures of
-- the last 25 months are their cases; bmmr_totals: the year to date is its months added up). The view's
-- own year-to-date join is its code, checked on a full build and by the suite (tests/test_explain.py).
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
{%- set measures = bmmr_count_columns() + ['financial_remedies_gbp', 'payments_gbp'] %}
{%- set nightly = var('test_recomputed_rows_only', false) and not flags.FULL_REFRESH %}
{%- set periods = ['month', 'same_month_last_year'] if nightly else none %}
with

latest as (
    select max(report_month) as report_month from {{ ref('bmmr_monthly') }}
),

-- The latest month's figures take events of that month, of its financial year to date (from April, at
-- most eleven months before) and of the same month last year (twelve before): none older. Said
-- explicitly, the bound reaches the view's scans of the facts; the months' joins alone do not.
figure_cases as materialized (
    select * from {{ ref('bmmr_figure_cases') }}
    where
        report_month = (select latest.report_month from latest)
        and event_month >= (select latest.report_month - interval '12 months' from latest)
        {%- if periods %}
        and period in ('{{ periods | join("', '") }}')
        -- The month itself and the month a year before: said explicitly, the months reach the facts' scans.
        and (
            event_month = (select latest.report_month from latest)
            or event_month = (select (latest.report_month - interval '1 year')::date from latest)
        )
        {%- endif %}
),

figures as (
    select * from {{ ref('bmmr_monthly') }}
    where
        report_month = (select latest.report_month from latest)
        {%- if periods %}
        and period in ('{{ periods | join("', '") }}')
        {%- endif %}
),

published as (
    {%- for measure in measures %}
    select
        bmmr_key,
        '{{ measure }}' as measure,
        {{ measure }}::numeric as value
    from figures
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

cases as (
    select
        bmmr_key,
        measure,
        sum(value) as value
    from figure_cases
    group by 1, 2
)

select
    'the figure is not what its cases add up to' as failure,
    published.bmmr_key,
    published.measure,
    null as case_reference,
    published.value as figure,
    coalesce(cases.value, 0) as from_cases
from published
left join cases
    on
        published.bmmr_key = cases.bmmr_key
        and published.measure = cases.measure
where published.value <> coalesce(cases.value, 0)

union all

select
    case
        when figure_cases.bmmr_key is null then 'a case names no bmmr_monthly row'
        when figure_cases.measure is null then 'a case names no measure'
        when figure_cases.case_reference is null then 'a case has no case reference'
        else 'a case names a bmmr_monthly row that does not exist'
    end as failure,
    figure_cases.bmmr_key,
    figure_cases.measure,
    figure_cases.case_reference,
    null as figure,
    figure_cases.value as from_cases
from figure_cases
where
    figure_cases.bmmr_key is null
    or figure_cases.measure is null
    or figure_cases.case_reference is null
    or not exists (
        select 1 from {{ ref('bmmr_monthly') }} as monthly
        where monthly.bmmr_key = figure_cases.bmmr_key
    )
