{#-
    The ONS mid-year whose population the Ombudsman's "upheld decisions per 100,000 residents" of a
    financial year divides by, as an SQL expression of the year the financial year starts.

    var ombudsman_population_mid_year (dbt_project.yml; env OMBUDSMAN_POPULATION_MID_YEAR):
    - publication (default): the latest estimate the ONS had published when the Ombudsman's annual
      review came out, in July after the year ends: the mid-year before the financial year starts
      (2023/24 -> mid-2022, 2022/23 -> mid-2021).
    - financial_year_start: the mid-year inside the financial year (2023/24 -> mid-2023).
    See docs/ombudsman-per-100k.md.
-#}
{% macro ombudsman_population_mid_year(financial_year_start) -%}
    {%- set rule = var('ombudsman_population_mid_year', 'publication') | string | trim -%}
    {%- if rule == 'publication' -%}
        ({{ financial_year_start }} - 1)
    {%- elif rule == 'financial_year_start' -%}
        ({{ financial_year_start }})
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "ombudsman_population_mid_year is '" ~ rule ~ "': use publication (the estimate available "
            ~ "when the Ombudsman published) or financial_year_start (docs/ombudsman-per-100k.md)"
        ) }}
    {%- endif -%}
{%- endmacro %}
