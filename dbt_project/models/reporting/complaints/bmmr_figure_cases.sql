-- The cases behind every BMMR figure: for each row of bmmr_monthly (month, period, directorate,
-- procedure) and each of its counts or sums of money, one row per event the figure takes, named by the
-- case's pseudonymous reference (representation_key: the source system and its case id, never a person).
-- A count equals the number of its rows here; a sum of money the sum of their value. The events and
-- which figure takes which are the ones int_bmmr__monthly_counts counts (int_bmmr__figure_events,
-- macro bmmr_event_measures); the periods join months as bmmr_monthly does.
-- A view: a figure's cases are read for one month at a time (complaints-warehouse explain), and the
-- month's condition reaches each branch below.
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
-- Internal, in schema intermediate (its readers, explain and the GX suite, name it there; its yml).
with

events as (
    select * from {{ ref('int_bmmr__figure_events') }}
),

figures as (
    select
        report_month,
        period,
        directorate,
        procedure_code,
        -- The first month of the report month's financial year (April), as in bmmr_monthly.
        {{ financial_year_start_month('report_month') }} as financial_year_start_month
    from {{ ref('bmmr_monthly') }}
),

-- Each event once per figure that takes it: 1 for a count, the amount for a sum of money. An event meets
-- only the measures of its own kind (a hash join on the kind), then each measure's condition: offering
-- every event to every measure cost twice as much at scale.
{%- set counted = bmmr_event_measures() %}
members as not materialized (
    select
        events.report_month as event_month,
        {{ financial_year_start_month('events.report_month') }} as event_financial_year_start_month,
        events.directorate,
        events.procedure_code,
        measures.measure,
        events.event,
        events.event_key,
        events.representation_key,
        case when measures.is_amount then events.amount_gbp else 1 end::numeric as value  -- noqa: RF04
    from events
    inner join (
        values
        {%- for measure, event, condition in counted %}
            ({{ loop.index }}, '{{ measure }}', '{{ event }}', false),
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
            ({{ counted | length + loop.index }}, '{{ measure }}', '{{ event }}', true)
            {{- ',' if not loop.last }}
        {%- endfor %}
    ) as measures (measure_number, measure, event, is_amount)
        on events.event = measures.event
    where
        case measures.measure_number
        {%- for measure, event, condition in counted %}
            when {{ loop.index }} then ({{ condition }})
        {%- endfor %}
            else true  -- the sums of money: every event of their kind
        end
),

by_period as (
    select
        figures.report_month,
        figures.period,
        members.*
    from figures
    inner join members
        on
            figures.directorate = members.directorate
            and figures.procedure_code = members.procedure_code
            and figures.report_month = members.event_month
    where figures.period = 'month'

    union all

    select
        figures.report_month,
        figures.period,
        members.*
    from figures
    inner join members
        on
            figures.directorate = members.directorate
            and figures.procedure_code = members.procedure_code
            and figures.financial_year_start_month = members.event_financial_year_start_month
            and figures.report_month >= members.event_month
    where figures.period = 'financial_year_to_date'

    union all

    select
        figures.report_month,
        figures.period,
        members.*
    from figures
    inner join members
        on
            figures.directorate = members.directorate
            and figures.procedure_code = members.procedure_code
            and (figures.report_month - interval '1 year')::date = members.event_month
    where figures.period = 'same_month_last_year'
),

final as (
    select
        (
            to_char(report_month, 'YYYY-MM') || '|' || period || '|' || directorate || '|' || procedure_code
        )::text as bmmr_key,
        report_month::date as report_month,
        period::text as period,
        directorate::text as directorate,
        procedure_code::text as procedure_code,
        measure::text as measure,
        representation_key::text as case_reference,
        event::text as event,  -- noqa: RF04
        event_key::text as event_key,
        event_month::date as event_month,
        value::numeric as value  -- noqa: RF04
    from by_period
)

select * from final
