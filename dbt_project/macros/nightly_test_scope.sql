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
      it down to the raw tables; every row when there is no watermark yet or past 200,000 cases.
      The condition must reach the raw tables through the view, or the view is computed whole:
        meta nightly_tests_case_columns: every column holding the case key, when the view joins two
          case views (PostgreSQL does not carry a condition on a list across a join);
        meta nightly_tests_row_key {column, raw_table, raw_key}: a view whose latest version is per row
          (a payment), not per case: a condition on the case cannot pass that window, so the view is
          limited to the rows of which any raw version names one of the cases (a few more rows than
          the cases' own: tested again, harmlessly). -#}
{% macro recomputed_rows_condition() -%}
    {%- if not execute or flags.FULL_REFRESH or not var('test_recomputed_rows_only', false) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if tested is none -%}
        {{ return('') }}
    {%- elif tested.config.materialized == 'incremental' -%}
        {{ return('built_at = ' ~ built_at()) }}
    {%- endif -%}
    {{ return(cases_loaded_condition(tested)) }}
{%- endmacro %}


{#- The condition limiting a view of case data (meta nightly_tests: cases_loaded_since_last_build) to the
    night's cases, or '' (every row) for any other node or when every row is to be tested. -#}
{% macro cases_loaded_condition(node) -%}
    {%- if node.config.meta.get('nightly_tests') != 'cases_loaded_since_last_build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set cases = cases_loaded_since_last_build() -%}
    {%- if cases is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set row_key = node.config.meta.get('nightly_tests_row_key') -%}
    {%- if row_key -%}
        {{ return(row_key.column ~ ' = any(' ~ key_array(row_keys_of_cases(row_key, cases)) ~ ')') }}
    {%- endif -%}
    {%- set conditions = [] -%}
    {%- for column in node.config.meta.get('nightly_tests_case_columns', ['representation_key']) -%}
        {%- do conditions.append(column ~ ' = any(' ~ key_array(cases) ~ ')') -%}
    {%- endfor -%}
    {{ return(conditions | join(' and ')) }}
{%- endmacro %}


{#- The night's rows of a view of case data, kept once per run: a view's five to ten tests each computing
    the view again for the night's cases (its latest versions, its joins) cost a night some twenty
    node-seconds, before the facts could start. A post-hook of every model (dbt_project.yml): after such a
    view is built on a nightly run, its rows in the night's scope are copied to <view>__night beside it
    (same schema, same owner and readers; pseudonyms only, as the view), which its tests then read
    (get_where_subquery). A copy is marked with the run that made it (its comment: the invocation id) and
    read only by that run's tests, so a copy left by a run that died, or made by another, is never taken
    for this night's. Every copy is dropped when a run starts, and the run's own when it ends
    (drop_nightly_rows); a run that leaves the view out (dbt test, a selection without it) finds no copy
    of its own and its tests read the view. -#}
{% macro nightly_rows_relation(node) -%}
    {{ return(api.Relation.create(
        database=node.database, schema=node.schema, identifier=node.alias ~ '__night', type='table')) }}
{%- endmacro %}


{% macro keep_nightly_rows() -%}
    {%- set node = graph.nodes.get(model.unique_id) if execute else none -%}
    {%- if node is none or node.config.materialized != 'view' or flags.FULL_REFRESH
        or not var('test_recomputed_rows_only', false) -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set condition = cases_loaded_condition(node) -%}
    {%- if condition == '' -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set night = nightly_rows_relation(node) -%}
    drop table if exists {{ night }};
    create unlogged table {{ night }} as select * from {{ this }} where {{ condition }};
    comment on table {{ night }} is '{{ invocation_id }}';
    analyze {{ night }}
{%- endmacro %}


{#- The copy of the night's rows of the view a test reads, when this run made one, else none. -#}
{% macro nightly_rows_of_tested() -%}
    {%- if not execute or flags.FULL_REFRESH or not var('test_recomputed_rows_only', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if tested is none or tested.config.meta.get('nightly_tests') != 'cases_loaded_since_last_build'
        or tested.config.materialized != 'view' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set night = nightly_rows_relation(tested) -%}
    {%- set found = run_query(
        "select obj_description(to_regclass('" ~ night.schema ~ "." ~ night.identifier ~ "'), 'pg_class')"
        ~ " is not distinct from '" ~ invocation_id ~ "'"
    ) -%}
    {{ return(night if found.rows[0][0] else none) }}
{%- endmacro %}


{#- The copies of the night's rows, by name (<view>__night) in the schemas of the project's views, so that
    one of a view since renamed, or no longer scoped, goes too: every one when a run starts (those of a run
    that died), this run's own when it ends. -#}
{% macro drop_nightly_rows(this_run) -%}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set schemas = [] -%}
    {%- set models = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
        {%- do models.append(node.alias) -%}
        {%- if node.config.materialized == 'view' and node.schema not in schemas -%}
            {%- do schemas.append(node.schema) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if schemas | length == 0 -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set found = run_query(
        "select quote_ident(n.nspname) || '.' || quote_ident(c.relname) from pg_class c"
        ~ " join pg_namespace n on n.oid = c.relnamespace"
        ~ " where c.relkind = 'r' and c.relname like '%\\_\\_night'"
        ~ " and n.nspname = any(array['" ~ schemas | join("', '") ~ "'])"
        ~ (" and obj_description(c.oid, 'pg_class') is not distinct from '" ~ invocation_id ~ "'" if this_run else "")
    ).columns[0].values() | list -%}
    {%- set statements = ['select 1'] -%}
    {%- for name in found if name.split('.')[-1] | replace('"', '') not in models -%}
        {%- do statements.append('drop table if exists ' ~ name) -%}
    {%- endfor -%}
    {{ return(statements | join('; ')) }}
{%- endmacro %}


{#- The cases named by the raw case rows loaded since the facts' last build, or none (test every row)
    when there is no build yet or there are more than 200,000 of them. The night's scope, worked out once
    by the run's on-run-start (remember_nightly_test_scope) when the run has one; else worked out here. -#}
{% macro cases_loaded_since_last_build() -%}
    {%- set remembered = remembered_nightly_test_scope() -%}
    {%- if remembered is not none -%}
        {{ return(remembered.cases) }}
    {%- endif -%}
    {{ return(work_out_cases_loaded_since_last_build()) }}
{%- endmacro %}


{#- The keys of a per-row view (meta nightly_tests_row_key {column, raw_table, raw_key}) any raw version of
    which names one of ``cases``: remembered for the run, or looked up. -#}
{% macro row_keys_of_cases(row_key, cases) -%}
    {%- set remembered = remembered_nightly_test_scope() -%}
    {%- set name = row_key.raw_table ~ '.' ~ row_key.raw_key -%}
    {%- if remembered is not none and name in remembered.row_keys -%}
        {{ return(remembered.row_keys[name]) }}
    {%- endif -%}
    {%- set keys_sql -%}
        select distinct _source_system || ':' || {{ row_key.raw_key }}
        from {{ source('case_system', row_key.raw_table) }}
        where _source_system || ':' || representation_id = any({{ key_array(cases) }})
    {%- endset -%}
    {{ return(run_query(keys_sql).columns[0].values() | list) }}
{%- endmacro %}


{#- The cases and per-row keys the night's tests are limited to, as on-run-start remembered them for this
    run (audit.nightly_test_scope), or none. -#}
{% macro remembered_nightly_test_scope() -%}
    {%- set found = run_query(
        "select scope::text from " ~ source('warehouse_audit', 'nightly_test_scope')
        ~ " where invocation_id = '" ~ invocation_id ~ "'"
    ) -%}
    {{ return(fromjson(found.rows[0][0]) if found.rows | length > 0 else none) }}
{%- endmacro %}


{#- dbt's on-run-start: the night's test scope worked out once for the run (not once per test: some fifty
    tests of the staging views read it, and each working it out again cost a night seconds), and the scopes
    of earlier runs forgotten. The facts are built after their staging views' tests (dbt build runs a
    node's tests before its children), so their watermark is still the last build's when the tests read
    this. Nothing on a full refresh or without the nightly var: every row is tested then. -#}
{% macro remember_nightly_test_scope() -%}
    {%- set table = source('warehouse_audit', 'nightly_test_scope') -%}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- do run_query("delete from " ~ table ~ " where invocation_id <> '" ~ invocation_id ~ "'") -%}
    {%- if flags.FULL_REFRESH or not var('test_recomputed_rows_only', false) -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set cases = work_out_cases_loaded_since_last_build() -%}
    {%- set scope = {'cases': cases, 'row_keys': {}} -%}
    {%- if cases is not none -%}
        {%- for node in graph.nodes.values() if node.config.meta.get('nightly_tests_row_key') -%}
            {%- set row_key = node.config.meta.get('nightly_tests_row_key') -%}
            {%- do scope.row_keys.update({
                row_key.raw_table ~ '.' ~ row_key.raw_key: row_keys_of_cases(row_key, cases)
            }) -%}
        {%- endfor -%}
    {%- endif -%}
    insert into {{ table }} (invocation_id, scope)
    values ('{{ invocation_id }}', '{{ tojson(scope) | replace("'", "''") }}'::jsonb)
    on conflict (invocation_id) do nothing
{%- endmacro %}


{#- dbt's on-run-end: this run's scope is done with. -#}
{% macro forget_nightly_test_scope() -%}
    {%- if execute -%}
        delete from {{ source('warehouse_audit', 'nightly_test_scope') }} where invocation_id = '{{ invocation_id }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- The cases named by the raw case rows loaded since the facts' last build, worked out from the raw
    tables, or none when there is no build yet or there are more than 200,000 of them. The tables are
    declared sources, looked up as the test runs (never as it is parsed: a source among a test's parents
    would, for one, take its relationships test out of the foreign keys, see foreign_keys). -#}
{% macro work_out_cases_loaded_since_last_build() -%}
    {%- set last = run_query(
        "select through_batch_id from " ~ source('warehouse_audit', 'incremental_watermarks')
        ~ " where model = 'marts.fct_representations' and status = 'built' order by finished_at desc limit 1"
    ) -%}
    {%- if last.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set window = '_batch_id > ' ~ last.rows[0][0] ~ ' and _batch_id <= ' ~ loaded_through_batch() -%}
    {%- set cases_sql -%}
        {% for table in ['representations', 'stages', 'complaint_points', 'remedies', 'payments'] -%}
        select _source_system || ':' || representation_id
        from {{ source('case_system', table) }}
        where {{ window }} and representation_id is not null
        {% if not loop.last %}union{% endif %}
        {% endfor -%}
    {%- endset -%}
    {%- set cases = run_query(cases_sql).columns[0].values() | list -%}
    {{ return(none if cases | length > 200000 else cases) }}
{%- endmacro %}


{#- dbt's relationships test, with the parent limited to the values the child holds when the child is
    limited to the night's rows: a few keys looked up (through the parent's index or pushed down to its
    raw table) rather than the whole parent read for them. Every row otherwise, as dbt's own. -#}
{% macro default__test_relationships(model, column_name, to, field) -%}
    {%- set values = none -%}
    {%- if execute and recomputed_rows_condition() != '' -%}
        {%- set found = run_query(
            "select distinct " ~ column_name ~ "::text from " ~ model ~ " where " ~ column_name ~ " is not null"
            ~ " limit 200001"
        ).columns[0].values() | list -%}
        {%- set values = found if found | length <= 200000 else none -%}
    {%- endif %}
with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

{#- materialized: looked up once; inlined, PostgreSQL probes the whole list for every child row. #}
parent as {% if values is not none %}materialized {% endif %}(
    select {{ field }} as to_field
    from {{ to }}
    {%- if values is not none %}
    where {{ field }}::text = any({{ key_array(values) }})
    {%- endif %}
)

select from_field
from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null
{%- endmacro %}


{#- dbt's own get_where_subquery (the model a generic test reads), with the nightly scope added to the
    test's `where` config. Rendered as the test runs, so the scope is this invocation's. -#}
{% macro get_where_subquery(relation) -%}
    {%- set night = nightly_rows_of_tested() -%}
    {%- if night is not none -%}
        {#- already the night's rows: only the test's own `where`, if any -#}
        {%- set conditions = [config.get('where') or ''] | reject('equalto', '') | list -%}
        {%- set relation = night -%}
    {%- else -%}
        {%- set conditions = [config.get('where') or '', recomputed_rows_condition()] | reject('equalto', '') | list -%}
    {%- endif -%}
    {%- if conditions | length == 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where ({{ conditions | join(') and (') }})) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}
