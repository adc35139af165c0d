{#- The key authority names are matched on: case, spacing and "&" vs "and" do not matter (as the loader's rule). -#}
{% macro authority_name_key(column) -%}
    lower(regexp_replace(replace(btrim({{ column }}), '&', 'and'), '\s+', ' ', 'g'))
{%- endmacro %}
