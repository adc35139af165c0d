{#- The annual report's cells that come from the facts, one row per fact row and cell it counts in
    (event_date, procedure_code, section, category, amount): sections 1 to 7 and 9 (annual_report adds the
    Ombudsman's outcomes, section 8). The calling model defines the CTEs representations, stages, points,
    payments, outcomes and service_areas. ``signed``: the facts' rows carry a column _sign (fact_changes),
    passed on to each cell. -#}
{% macro annual_report_fact_cells(signed=false) -%}
{%- set sign = ',\n        _sign' if signed else '' %}
{%- set representations_sign = ',\n        representations._sign' if signed else '' %}
{%- set stages_sign = ',\n        stages._sign' if signed else '' %}
-- Each branch of the union takes its column names from the first.
-- noqa: disable=AL03
    select
        received_date as event_date,
        procedure_code,
        '1 representations received' as section,
        representation_type as category,
        1::numeric as amount{{ sign }}
    from representations
    union all
    select
        opened_date,
        procedure_code,
        '2 complaints by stage',
        'stage ' || stage_code,
        1{{ sign }}
    from stages
    union all
    select
        stages.responded_date,
        stages.procedure_code,
        '3 outcomes',
        coalesce(outcomes.reporting_group, 'not recorded'),
        1{{ stages_sign }}
    from stages
    left join outcomes
        on stages.outcome_code = outcomes.outcome_code
    where stages.responded_date is not null and stages.stage_number <= 3
    union all
    select
        responded_date,
        procedure_code,
        '4 timescale bands',
        case
            when working_days_taken <= 20 then 'within 20 working days'
            when working_days_taken <= 40 then '21 to 40 working days'
            else 'over 40 working days'
        end,
        1{{ sign }}
    from stages
    where responded_date is not null and stage_number <= 3
    union all
    select
        received_date,
        procedure_code,
        '5 nature of complaints',
        nature_code,
        1{{ sign }}
    from points
    union all
    select
        representations.received_date,
        representations.procedure_code,
        case
            when representations.representation_type = 'compliment' then '7 compliments by service'
            else '6 complaints by service area'
        end,
        coalesce(service_areas.service_area_name, 'unknown'),
        1{{ representations_sign }}
    from representations
    left join service_areas
        on representations.service_area_key = service_areas.service_area_key
    where representations.representation_type in ('complaint', 'compliment')
    union all
    select
        payment_date,
        procedure_code,
        '9 payments',
        'payments made',
        1{{ sign }}
    from payments
    union all
    select
        payment_date,
        procedure_code,
        '9 payments',
        'GBP paid',
        amount_gbp{{ sign }}
    from payments
-- noqa: enable=AL03
{%- endmacro %}
