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
