{#- The year the UK financial year (April to March) a date falls in starts: 2023 for any day from
    1 April 2023 to 31 March 2024. The one place the April start is written for a date. -#}
{% macro financial_year_start_year(date_column) -%}
    extract(year from {{ date_column }} - interval '3 months')::int
{%- endmacro %}

{#- The UK financial year (April to March) a date falls in, written like 2023/24. -#}
{% macro financial_year(date_column) -%}
    ({{ financial_year_start_year(date_column) }})::text || '/'
    || lpad((({{ financial_year_start_year(date_column) }} + 1) % 100)::text, 2, '0')
{%- endmacro %}

{#- The first month (1 April) of the financial year a date falls in. -#}
{% macro financial_year_start_month(date_column) -%}
    ({{ date_column }} - ((extract(month from {{ date_column }})::int + 8) % 12) * interval '1 month')::date
{%- endmacro %}

{#- The first day (1 April) of a financial year written like 2023/24. -#}
{% macro financial_year_start_date(label) -%}
    make_date(left({{ label }}, 4)::int, 4, 1)
{%- endmacro %}
