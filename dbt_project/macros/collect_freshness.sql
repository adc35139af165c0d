{#- Source freshness (dbt's own query, with one condition more for the raw tables). A raw table's rows are
    stamped _loaded_at with their batch's start, and one loader at a time loads a source (the loader's
    source lock), so its latest batch holds its latest _loaded_at, found through the batch index instead
    of reading every version the table holds (seconds a night on a national history). (Two source systems
    loading one table at the same moment could put it minutes early: nothing, beside thresholds of days.) -#}
{% macro postgres__collect_freshness(source, loaded_at_field, filter) %}
    {%- if loaded_at_field == '_loaded_at' -%}
        {%- set latest_batch = '_batch_id = (select max(_batch_id) from ' ~ source ~ ')' -%}
        {%- set filter = '(' ~ filter ~ ') and ' ~ latest_batch if filter else latest_batch -%}
    {%- endif -%}
    {{ return(default__collect_freshness(source, loaded_at_field, filter)) }}
{% endmacro %}
