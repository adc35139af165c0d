{#- The UK financial year (April to March) a date falls in, written like 2023/24. -#}
{% macro financial_year(date_column) -%}
    (extract(year from {{ date_column }} - interval '3 months')::int)::text || '/'
    || lpad(((extract(year from {{ date_column }} - interval '3 months')::int + 1) % 100)::text, 2, '0')
{%- endmacro %}
