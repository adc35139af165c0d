{#- The BMMR's countable measures, shared by bmmr_monthly (which sums them) and kpi_scorecard (which
    divides them): one list, so a new measure reaches both. -#}
{% macro bmmr_count_columns() -%}
    {{ return([
        'representations_received', 'complaints_received', 'compliments_received',
        'representations_closed', 'complaints_closed',
        'stage_0_responded', 'stage_0_within_timescale', 'stage_1_responded', 'stage_1_within_timescale',
        'stage_2_responded', 'stage_2_within_timescale', 'stage_3_responded', 'stage_3_within_timescale',
        'stage_2_escalations',
        'outcome_upheld', 'outcome_not_upheld', 'outcome_withdrawn_resolved', 'outcome_not_pursued',
        'financial_remedies', 'payments', 'ombudsman_decisions', 'ombudsman_upheld',
    ]) }}
{%- endmacro %}

{#- Every BMMR figure counted or summed from events, in the columns' order: (measure, event, which of
    the event's rows it takes). One definition per figure: int_bmmr__monthly_counts counts (or sums the
    amount_gbp of) exactly the rows of int_bmmr__figure_events that bmmr_figure_cases lists as its cases.
    Conditions read the event's columns (see int_bmmr__figure_events). -#}
{% macro bmmr_event_measures() -%}
    {%- set measures = [
        ('representations_received', 'received', 'true'),
        ('complaints_received', 'received', "representation_type = 'complaint'"),
        ('compliments_received', 'received', "representation_type = 'compliment'"),
        ('representations_closed', 'closed', 'true'),
        ('complaints_closed', 'closed', "representation_type = 'complaint'"),
    ] -%}
    {%- for stage in range(4) -%}
        {%- do measures.append(('stage_' ~ stage ~ '_responded', 'responded', 'stage_number = ' ~ stage)) -%}
        {%- do measures.append((
            'stage_' ~ stage ~ '_within_timescale', 'responded',
            'stage_number = ' ~ stage ~ ' and is_within_timescale'
        )) -%}
    {%- endfor -%}
    {%- do measures.append(('stage_2_escalations', 'stage_2_opened', 'true')) -%}
    {%- for group in ['upheld', 'not_upheld', 'withdrawn_resolved', 'not_pursued'] -%}
        {%- do measures.append(('outcome_' ~ group, 'responded', "reporting_group_code = '" ~ group ~ "'")) -%}
    {%- endfor -%}
    {%- do measures.extend([
        ('financial_remedies', 'financial_remedy', 'true'),
        ('payments', 'payment', 'true'),
        ('ombudsman_decisions', 'ombudsman_decision', 'true'),
        ('ombudsman_upheld', 'ombudsman_decision', "decision_code = 'upheld'"),
    ]) -%}
    {{ return(measures) }}
{%- endmacro %}

{#- The BMMR's sums of money: (measure, the event whose amount_gbp it sums). -#}
{% macro bmmr_event_amounts() -%}
    {{ return([('financial_remedies_gbp', 'financial_remedy'), ('payments_gbp', 'payment')]) }}
{%- endmacro %}

{#- The BMMR's identifying columns (bmmr_monthly): every other column of a row is a measure. Python reads
    this list from here (complaints_warehouse/bmmr_measures.py): publish, integrity and the GX suites
    unpivot the BMMR by it. -#}
{% macro bmmr_key_columns() -%}
    {{ return(['bmmr_key', 'report_month', 'financial_year', 'period', 'directorate', 'procedure_code']) }}
{%- endmacro %}

{#- The BMMR's sums of money, each with the count it rests on (suppressed together in public output). -#}
{% macro bmmr_amount_columns() -%}
    {{ return([('financial_remedies_gbp', 'financial_remedies'), ('payments_gbp', 'payments')]) }}
{%- endmacro %}

{#- The outcome counts, which add up to outcomes_recorded. -#}
{% macro bmmr_outcome_columns() -%}
    {{ return(['outcome_upheld', 'outcome_not_upheld', 'outcome_withdrawn_resolved', 'outcome_not_pursued']) }}
{%- endmacro %}

{#- The BMMR's rates: (rate, numerator, denominator), recomputed from counts (summed, never averaged), one
    decimal, empty when there is nothing to divide by. Those bmmr_monthly publishes (as_published) keep the
    names they were first published under: the escalation rate (Stage 2 escalations per 100 Stage 1
    responses) is escalation_rate_stage_1_to_2_pct there and escalation_rate_pct in the reporting models,
    which show upheld_pct besides. -#}
{% macro bmmr_rates(as_published=false) -%}
    {%- set rates = [] -%}
    {%- for stage in range(4) -%}
        {%- do rates.append((
            'stage_' ~ stage ~ '_within_timescale_pct',
            'stage_' ~ stage ~ '_within_timescale',
            'stage_' ~ stage ~ '_responded'
        )) -%}
    {%- endfor -%}
    {%- if as_published -%}
        {%- do rates.append(('escalation_rate_stage_1_to_2_pct', 'stage_2_escalations', 'stage_1_responded')) -%}
    {%- else -%}
        {%- do rates.append(('escalation_rate_pct', 'stage_2_escalations', 'stage_1_responded')) -%}
        {%- do rates.append(('upheld_pct', 'outcome_upheld', 'outcomes_recorded')) -%}
    {%- endif -%}
    {{ return(rates) }}
{%- endmacro %}

{#- 100 x numerator / denominator to one decimal; empty for x / 0. The one ratio rule of the reports
    (the same as bmmr_monthly's and kpi_scorecard's). -#}
{% macro bmmr_ratio(numerator, denominator) -%}
    round(100.0 * {{ numerator }} / nullif({{ denominator }}, 0), 1)
{%- endmacro %}

{#- The RAG rating of an actual against its target (kpi_scorecard's rule): green when met; amber when
    within 10 % of it; red beyond; "no data" when nothing was measured. -#}
{% macro bmmr_rag(actual, target, higher_is_better) -%}
    case
        when {{ actual }} is null then 'no data'
        when {{ higher_is_better }} and {{ actual }} >= {{ target }} then 'green'
        when not {{ higher_is_better }} and {{ actual }} <= {{ target }} then 'green'
        when {{ higher_is_better }} and {{ actual }} >= {{ target }} * 0.9 then 'amber'
        when not {{ higher_is_better }} and {{ actual }} <= {{ target }} * 1.1 then 'amber'
        else 'red'
    end
{%- endmacro %}

{#- Long BMMR cells (the CTE ``cells``: the columns ``group_columns``, measure, value) summed into one wide
    row per group: every count and amount (0 when absent), outcomes_recorded, and the rates. -#}
{% macro bmmr_wide_figures(cells, group_columns) -%}
    {%- set groups = group_columns | join(', ') %}
    select
        {{ groups }},
        {%- for column in bmmr_count_columns() %}
        coalesce(sum(value) filter (where measure = '{{ column }}'), 0)::numeric as {{ column }},
        {%- endfor %}
        {%- for column, _ in bmmr_amount_columns() %}
        coalesce(sum(value) filter (where measure = '{{ column }}'), 0)::numeric as {{ column }},
        {%- endfor %}
        coalesce(sum(value) filter (where measure in (
            {%- for column in bmmr_outcome_columns() %}'{{ column }}'{{ ', ' if not loop.last }}{% endfor -%}
        )), 0)::numeric as outcomes_recorded
    from {{ cells }}
    group by {{ groups }}
{%- endmacro %}

{#- The figure columns of a reporting row, from a relation with every count, amount and outcomes_recorded:
    those as numeric, then each rate (bmmr_rates). -#}
{% macro bmmr_figure_columns() -%}
    {%- for column in bmmr_count_columns() + (bmmr_amount_columns() | map('first') | list) + ['outcomes_recorded'] %}
        {{ column }}::numeric as {{ column }},
    {%- endfor %}
    {%- for rate, numerator, denominator in bmmr_rates() %}
        {{ bmmr_ratio(numerator, denominator) }}::numeric as {{ rate }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
