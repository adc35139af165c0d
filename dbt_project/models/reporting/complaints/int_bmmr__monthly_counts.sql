-- The BMMR's counts per calendar month, directorate and procedure. Each figure is counted in the month
-- of its own event: received, closed, a stage responded, Stage 2 opened (an escalation), a financial
-- remedy agreed, a payment made, an Ombudsman decision. Stage figures count stages (a case that
-- escalates counts at each stage); the rest count cases, remedies or payments. Which events each
-- figure takes is defined once (macro bmmr_event_measures), over int_bmmr__figure_events: the same
-- rows bmmr_figure_cases lists as the cases behind each figure.
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
-- A reporting step, not an intermediate model: it reads the facts (the incremental tables that hold every
-- case as the marts show it), so the BMMR is counted from the marts, not recomputed from staging each
-- night. Internal: a view in schema intermediate, as it always was, not a table for BI tools (its yml).
with

events as (
    select * from {{ ref('int_bmmr__figure_events') }}
),

final as (
    select
        report_month,
        directorate,
        procedure_code,
        {%- for measure, event, condition in bmmr_event_measures() %}
        count(*) filter (where event = '{{ event }}' and ({{ condition }})) as {{ measure }},
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
        coalesce(sum(amount_gbp) filter (where event = '{{ event }}'), 0) as {{ measure }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from events
    group by 1, 2, 3
)

select * from final
