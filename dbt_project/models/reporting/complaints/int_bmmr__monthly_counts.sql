-- The BMMR's counts per calendar month, directorate and procedure. Each figure is counted in the month
-- of its own event: received, closed, a stage responded, Stage 2 opened (an escalation), a financial
-- remedy agreed, a payment made, an Ombudsman decision. Stage figures count stages (a case that
-- escalates counts at each stage); the rest count cases, remedies or payments. Which events each
-- figure takes is defined once (macro bmmr_event_measures), over int_bmmr__figure_events: the same
-- rows bmmr_figure_cases lists as the cases behind each figure.
-- The events from the facts are counted night by night in int_bmmr__fact_counts (the groups left with
-- events); the Ombudsman's decisions, which are not in the facts, are counted whole here, from their own
-- small table kept night by night (int_ombudsman__case_decisions, through int_bmmr__figure_events).
-- sqlfluff cannot follow the indentation of the Jinja loops below:
-- noqa: disable=LT02
-- A reporting step, not an intermediate model: it reads the facts (the incremental tables that hold every
-- case as the marts show it), so the BMMR is counted from the marts, not recomputed from staging each
-- night. Internal: a view in schema intermediate, as it always was, not a table for BI tools (its yml).
{%- set measures = bmmr_event_measures() %}
with

from_facts as (
    select * from {{ ref('int_bmmr__fact_counts') }}
    where events > 0
),

ombudsman_decisions as (
    select
        report_month,
        directorate,
        procedure_code,
        {%- for measure, event, condition in measures if event == 'ombudsman_decision' %}
        count(*) filter (where {{ condition }}) as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_bmmr__figure_events') }}
    where event = 'ombudsman_decision'
    group by 1, 2, 3
),

-- Each group's counts from both (a union, then a sum: groups match on empty values too).
both_counts as (
    select
        report_month,
        directorate,
        procedure_code,
        {%- for measure, event, condition in measures %}
        {{ measure if event != 'ombudsman_decision' else '0' }} as {{ measure }},
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
        {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from from_facts

    union all

    select
        report_month,
        directorate,
        procedure_code,
        {%- for measure, event, condition in measures %}
        {{ measure if event == 'ombudsman_decision' else '0' }} as {{ measure }},
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
        0 as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from ombudsman_decisions
),

final as (
    select
        report_month,
        directorate,
        procedure_code,
        {%- for measure, event, condition in measures %}
        sum({{ measure }})::bigint as {{ measure }},
        {%- endfor %}
        {%- for measure, event in bmmr_event_amounts() %}
        sum({{ measure }})::numeric as {{ measure }}{{ ',' if not loop.last }}
        {%- endfor %}
    from both_counts
    group by 1, 2, 3
)

select * from final
