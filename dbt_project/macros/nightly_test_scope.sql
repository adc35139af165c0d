{#-
    Nightly tests of the incremental facts test only the rows the night recomputed.

    Each incremental fact stamps the rows it writes with built_at (the dbt run's start, the same for
    every node of one invocation). A row a night did not recompute was tested, unchanged, by the run
    that wrote it, so on a nightly incremental build (the pipeline passes the var
    test_recomputed_rows_only) every data test on an incremental model -- not_null, accepted_values,
    relationships -- looks only at rows with this run's built_at. A first build, a night that rebuilt
    every case (every row then carries this run's built_at), --full-refresh and any build without the
    var test every row. The pipeline passes the var to every dbt command it runs (freshness too), so
    dbt's partial parsing, which a change of vars defeats, keeps working from one night to the next. Uniqueness of the facts' keys is not a test: their primary
    key constraints make PostgreSQL refuse a duplicate as it is written. The tests of the staging and
    intermediate views of case data are scoped the same way to the cases loaded since the last build.
-#}

{#- The value an incremental fact writes in built_at. -#}
{% macro built_at() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}


{#- The condition limiting a data test to the rows this run recomputed, or '' for every row.
    - an incremental model: the rows with this run's built_at;
    - a staging or intermediate view of case data (meta nightly_tests: cases_loaded_since_last_build):
      the cases named by the raw case rows loaded since the facts' last build (tonight's facts take the
      same batches). Such a view's row depends only on its case's raw rows (or, for the intermediate
      views, on tables whose change makes the facts -- and their tests -- recompute every case), so a
      case with no new raw row was tested, unchanged, before. A literal key list, so PostgreSQL pushes
      it down to the raw tables; every row when there is no watermark yet or past 200,000 cases. -#}
{% macro recomputed_rows_condition() -%}
    {%- if not execute or flags.FULL_REFRESH or not var('test_recomputed_rows_only', false) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if tested is none -%}
        {{ return('') }}
    {%- elif tested.config.materialized == 'incremental' -%}
        {{ return('built_at = ' ~ built_at()) }}
    {%- elif tested.config.meta.get('nightly_tests') == 'cases_loaded_since_last_build' -%}
        {%- set last = run_query(
            "select through_batch_id from audit.incremental_watermarks"
            ~ " where model = 'marts.fct_representations' and status = 'built' order by finished_at desc limit 1"
        ) -%}
        {%- if last.rows | length == 0 -%}
            {{ return('') }}
        {%- endif -%}
        {%- set window = '_batch_id > ' ~ last.rows[0][0] ~ ' and _batch_id <= ' ~ loaded_through_batch() -%}
        {%- set cases_sql -%}
            {% for table in ['representations', 'stages', 'complaint_points', 'remedies', 'payments'] -%}
            select _source_system || ':' || representation_id
            from raw_case_system.{{ table }}
            where {{ window }} and representation_id is not null
            {% if not loop.last %}union{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- set cases = run_query(cases_sql).columns[0].values() | list -%}
        {%- if cases | length > 200000 -%}
            {{ return('') }}
        {%- endif -%}
        {{ return('representation_key = any(' ~ key_array(cases) ~ ')') }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}


{#- dbt's own get_where_subquery (the model a generic test reads), with the nightly scope added to the
    test's `where` config. Rendered as the test runs, so the scope is this invocation's. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [config.get('where') or '', recomputed_rows_condition()] | reject('equalto', '') | list -%}
    {%- if conditions | length == 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where ({{ conditions | join(') and (') }})) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}
