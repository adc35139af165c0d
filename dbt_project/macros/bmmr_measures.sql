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
