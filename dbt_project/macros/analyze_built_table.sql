{#- The project's post-hook: statistics for a table model as soon as it is built, and for an incremental
    one when it has none yet (its first build, or a --full-refresh: a new table); a night's few changed rows
    leave them as good as they were, and autovacuum analyzes a table once a tenth of it has changed. -#}
{% macro analyze_built_table() -%}
    {%- set materialized = config.get('materialized') -%}
    {%- if materialized == 'table' -%}
        analyze {{ this }}
    {%- elif materialized == 'incremental' and execute -%}
        {%- set analyzed = run_query(
            "select coalesce(last_analyze, last_autoanalyze) is not null from pg_stat_user_tables"
            ~ " where relid = to_regclass('" ~ this.schema ~ "." ~ this.identifier ~ "')"
        ) -%}
        {{ 'select 1' if analyzed.rows | length > 0 and analyzed.rows[0][0] else 'analyze ' ~ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
