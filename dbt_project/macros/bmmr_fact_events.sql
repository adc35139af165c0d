{#- The events of the BMMR that come from the facts, one row each in the month of the event itself (see
    int_bmmr__figure_events, which adds the Ombudsman's decisions). The calling model defines the CTEs
    representations, stages, outcomes, remedies and payments. ``signed``: the facts' rows carry a column
    _sign (fact_changes), passed on to each event. An event's month is date_trunc of the date as a timestamp
    (not a timestamptz, which depends on the session's time zone): immutable, so the facts index it
    (event_month_indexes). -#}
{% macro bmmr_fact_events(signed=false) -%}
{%- set sign = ',\n        _sign' if signed else '' %}
    select
        'received' as event,
        date_trunc('month', received_date::timestamp)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        representation_key as event_key,
        representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp{{ sign }}
    from representations

    union all

    select
        'closed' as event,
        date_trunc('month', closed_date::timestamp)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        representation_key as event_key,
        representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp{{ sign }}
    from representations
    where status = 'closed' and closed_date is not null

    union all

    -- The council's own stages (0-3) answered in the month, on time or not, and how they ended.
    select
        'responded' as event,
        date_trunc('month', stages.responded_date::timestamp)::date as report_month,
        stages.directorate,
        stages.procedure_code,
        stages.representation_key,
        stages.stage_key as event_key,
        null::text as representation_type,
        stages.stage_number,
        stages.is_within_timescale,
        outcomes.reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp{{ sign }}
    from stages
    left join outcomes
        on stages.outcome_code = outcomes.outcome_code
    where stages.stage_number <= 3 and stages.responded_date is not null

    union all

    -- Escalations Stage 1 -> 2: Stage 2 stages opened in the month.
    select
        'stage_2_opened' as event,
        date_trunc('month', opened_date::timestamp)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        stage_key as event_key,
        null::text as representation_type,
        stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        null::numeric as amount_gbp{{ sign }}
    from stages
    where stage_number = 2

    union all

    select
        'financial_remedy' as event,
        date_trunc('month', agreed_date::timestamp)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        remedy_key as event_key,
        null::text as representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        amount_gbp::numeric as amount_gbp{{ sign }}
    from remedies
    where is_financial

    union all

    select
        'payment' as event,
        date_trunc('month', payment_date::timestamp)::date as report_month,
        directorate,
        procedure_code,
        representation_key,
        payment_key as event_key,
        null::text as representation_type,
        null::int as stage_number,
        null::boolean as is_within_timescale,
        null::text as reporting_group_code,
        null::text as decision_code,
        amount_gbp::numeric as amount_gbp{{ sign }}
    from payments
{%- endmacro %}


{#- A fact's post-hook: an index on the month of each of its event dates, written exactly as
    bmmr_fact_events writes it, so that a reader of one month (complaints-warehouse explain, the nightly
    test of the latest month's figures, the checkpoint's last 25 months) looks its events up instead of
    reading ten years of the fact. Created when missing (a new table, or an incremental fact built before:
    dbt's own indexes come only with a new table), then the statistics the planner needs on the months. -#}
{% macro event_month_indexes(columns) -%}
    {%- set missing = [] -%}
    {%- if execute -%}
        {%- for column in columns -%}
            {%- set name = this.identifier ~ '_' ~ column ~ '_month_idx' -%}
            {%- if run_query("select to_regclass('" ~ this.schema ~ "." ~ name ~ "')").columns[0].values()[0] is none -%}
                {%- do missing.append((name, column)) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for name, column in missing -%}
        create index if not exists {{ name }} on {{ this }} ((date_trunc('month', {{ column }}::timestamp)::date));
    {% endfor -%}
    {{ 'analyze ' ~ this if missing else 'select 1' }}
{%- endmacro %}
