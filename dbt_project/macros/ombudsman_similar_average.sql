{#-
    How the Ombudsman's "average for similar authorities" of a financial year is recomputed from the
    councils of one group (County, District, Metropolitan Borough, Unitary, London Borough): the one
    definition every similar-authority average uses (docs/ombudsman-national.md).

    var ombudsman_similar_average (dbt_project.yml; env OMBUDSMAN_SIMILAR_AVERAGE):
    - pooled (default): the group's statistics taken together, sum(numerator) / sum(denominator) over
      the councils with both, as the Ombudsman states its national figures ("83 per cent of all
      investigations", "6.2 upheld complaints per 100,000 residents").
    - mean_of_rates: the plain mean of the councils' own rates (councils with no rate left out).
    The numerator carries the scale (100 for a percentage, 100,000 per residents). Unrounded: the
    caller compares it with the published figure within the published rounding.
-#}
{% macro ombudsman_similar_average(numerator, denominator) -%}
    {%- set rule = var('ombudsman_similar_average', 'pooled') | string | trim -%}
    {%- if rule == 'pooled' -%}
        (
            sum({{ numerator }}) filter (where {{ denominator }} is not null)
            / nullif(sum({{ denominator }}) filter (where {{ numerator }} is not null), 0)
        )
    {%- elif rule == 'mean_of_rates' -%}
        avg({{ numerator }} / nullif({{ denominator }}, 0))
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "ombudsman_similar_average is '" ~ rule ~ "': use pooled (the group's counts taken together) "
            ~ "or mean_of_rates (the mean of the councils' rates) (docs/ombudsman-national.md)"
        ) }}
    {%- endif -%}
{%- endmacro %}
