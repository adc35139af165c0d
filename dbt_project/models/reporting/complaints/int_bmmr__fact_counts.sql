-- The BMMR's counts and sums of money from the facts' events (macro bmmr_fact_events) per calendar month,
-- directorate and procedure, kept up to date night by night: a nightly build adds the night's change to
-- each group it touches (the rows the facts wrote, less the rows they took out: macro fact_changes) instead
-- of counting ten years of facts again. A first build, --full-refresh, or a night the facts rebuilt every
-- row or a dimension changed, counts every row (macro aggregate_changes). `events` is the number of events
-- behind a group: a group whose events all went stays with 0 and is left out by int_bmmr__monthly_counts,
-- which adds the Ombudsman's decisions (counted whole each night: they are not in the facts).
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='group_key',
    on_schema_change='fail',
    post_hook="{{ mark_incremental_built() }}",
) }}
{%- set changes = aggregate_changes(
    ['fct_representations', 'fct_complaint_stages', 'fct_remedies', 'fct_payments'],
    "select array_agg(row(outcome_code, reporting_group_code) order by outcome_code) from " ~ ref('dim_outcome'),
    bmmr_fact_events(signed=true) ~ bmmr_event_measures() ~ bmmr_event_amounts(),
) %}
{%- set measures = [] %}
{%- for measure, event, condition in bmmr_event_measures() if event != 'ombudsman_decision' %}
    {%- do measures.append((measure, event, condition)) %}
{%- endfor %}
with

representations as not materialized (
    {{ fact_changes('fct_representations', changes) }}
),

stages as not materialized (
    {{ fact_changes('fct_complaint_stages', changes) }}
),

outcomes as (
    select * from {{ ref('dim_outcome') }}
),

remedies as (
    {{ fact_changes('fct_remedies', changes) }}
),

payments as (
    {{ fact_changes('fct_payments', changes) }}
),

events as (
    {{ bmmr_fact_events(signed=true) }}
),

changed as (
    select
        report_month,
        directorate,
        procedure_code,
        sum(_sign) as events,
        {%- for measure, event, condition in measures %}
        coalesce(sum(_sign) filter (where event = '{{ event }}' and ({{ condition }})), 0) as {{ measure }},
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
        coalesce(sum(_sign * amount_gbp) filter (where event = '{{ event }}'), 0) as {{ measure }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from events
    group by 1, 2, 3
),

final as (
    select
        -- One text per group, nulls included (a row's text tells an empty value from a missing one).
        row(changed.report_month, changed.directorate, changed.procedure_code)::text as group_key,
        changed.report_month::date as report_month,
        changed.directorate::text as directorate,
        changed.procedure_code::text as procedure_code,
        {%- for column in ['events'] + measures | map('first') | list %}
        ({{ 'coalesce(previous.' ~ column ~ ', 0) + ' if not changes.all }}changed.{{ column }})::bigint
        as {{ column }},
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
        ({{ 'coalesce(previous.' ~ measure ~ ', 0) + ' if not changes.all }}changed.{{ measure }})::numeric
        as {{ measure }},
        {%- endfor %}
        -- When the group was last counted: a nightly run tests only these (nightly_test_scope).
        {{ built_at() }} as built_at
    from changed
    {%- if not changes.all %}
    left join {{ this }} as previous
        on previous.group_key = row(changed.report_month, changed.directorate, changed.procedure_code)::text
    {%- endif %}
)

select * from final
