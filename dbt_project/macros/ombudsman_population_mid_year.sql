{#-
    Which ONS estimate the Ombudsman's "upheld decisions per 100,000 residents" of a financial year divides
    by: its mid-year, and the edition of that mid-year (a mid-year is revised by later ONS editions).

    var ombudsman_population_mid_year (dbt_project.yml; env OMBUDSMAN_POPULATION_MID_YEAR):
    - publication (default): the estimate available when the Ombudsman compiled and published the year's
      figures (annual review letters in May to July after the year ends): the mid-year before the
      financial year starts (2023/24 -> mid-2022, 2024/25 -> mid-2023), in the latest edition the ONS had
      published before 1 July after the financial year ends (2023/24: mid-2022 of 26 March 2024, not the
      revision of 15 July 2024). An edition without a publication day (a dropped-in file) is used only
      where no dated edition qualifies.
    - financial_year_start: the mid-year inside the financial year (2023/24 -> mid-2023), latest edition.
    See docs/ombudsman-per-100k.md.
-#}
{% macro _ombudsman_population_rule() -%}
    {%- set rule = var('ombudsman_population_mid_year', 'publication') | string | trim -%}
    {%- if rule not in ('publication', 'financial_year_start') -%}
        {{ exceptions.raise_compiler_error(
            "ombudsman_population_mid_year is '" ~ rule ~ "': use publication (the estimate available "
            ~ "when the Ombudsman published) or financial_year_start (docs/ombudsman-per-100k.md)"
        ) }}
    {%- endif -%}
    {{- return(rule) -}}
{%- endmacro %}

{% macro ombudsman_population_mid_year(financial_year_start) -%}
    {%- if _ombudsman_population_rule() == 'publication' -%}
        ({{ financial_year_start }} - 1)
    {%- else -%}
        ({{ financial_year_start }})
    {%- endif -%}
{%- endmacro %}

{#- The first day on which an edition is too late for the year's figures: editions published before it
    qualify, the latest of them is used. -#}
{% macro ombudsman_population_edition_cutoff(financial_year_start) -%}
    {%- if _ombudsman_population_rule() == 'publication' -%}
        make_date({{ financial_year_start }} + 1, 7, 1)
    {%- else -%}
        'infinity'::date
    {%- endif -%}
{%- endmacro %}
