{#-
    The status snapshot (representation_status_history) compares, on a nightly build, only the cases the
    night's load touched: every case named by a row (a new version or a tombstone) of the raw
    representations loaded after its last build (audit.incremental_watermarks, as for the facts). Its
    check columns all come from stg_case_system__representations, which reads raw representations and
    nothing else, so a case with no new raw row cannot have changed. The first snapshot, a build with
    --full-refresh (dbt never rebuilds a snapshot, but then it compares every case) and a build with no
    watermark compare every case.

    The snapshot's hard_deletes is 'ignore', because a case left out of tonight's comparison must not
    read as deleted. Cases the source deleted are closed here instead: the open version of a compared
    case that is no longer staged gets dbt_valid_to = the snapshot's time, exactly what
    hard_deletes: invalidate would write. All of it runs in the snapshot's own transaction (a failed
    snapshot changes nothing; its post-hook marks the watermark 'built').

    status_history_changes only reads (dbt compiles the ephemeral model that filters on it as a node of
    its own, on a connection it does not commit); the snapshot's pre-hook, record_status_history_build,
    works the same changes out again in the snapshot's transaction and writes.
-#}

{% macro status_history_changes() -%}
    {#- Before anything else, so that the model's parse records them: the sources read below. -#}
    {%- set raw_representations = source('case_system', 'representations') -%}
    {%- set watermarks = source('warehouse_audit', 'incremental_watermarks') -%}
    {%- do source('warehouse_audit', 'load_batches') -%}
    {%- set model_name = 'marts.representation_status_history' -%}
    {%- set changes = {'all': true, 'cases': [], 'previous': none, 'through': 0, 'history': none} -%}
    {%- if not execute or flags.WHICH not in ['build', 'snapshot'] -%}
        {{ return(changes) }}
    {%- endif -%}
    {%- set history = adapter.get_relation(
        database=target.database, schema='marts', identifier='representation_status_history'
    ) -%}
    {%- do changes.update({'history': history, 'through': loaded_through_batch()}) -%}
    {%- if history is not none and not flags.FULL_REFRESH -%}
        {%- set last = run_query(
            "select through_batch_id from " ~ watermarks
            ~ " where model = '" ~ model_name ~ "' and status = 'built' order by finished_at desc limit 1"
        ) -%}
        {%- if last.rows | length > 0 -%}
            {%- do changes.update({'previous': last.rows[0][0], 'all': false}) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not changes.all -%}
        {%- set cases_sql -%}
            select distinct _source_system || ':' || representation_id
            from {{ raw_representations }}
            where _batch_id > {{ changes.previous }} and _batch_id <= {{ changes.through }}
        {%- endset -%}
        {%- do changes.update({'cases': run_query(cases_sql).columns[0].values() | list}) -%}
        {#- Beyond 200,000 keys a literal list no longer pays: compare every case. -#}
        {%- if changes.cases | length > 200000 -%}
            {%- do changes.update({'all': true, 'cases': []}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(changes) }}
{%- endmacro %}


{#- The snapshot's pre-hook: close the open versions of compared cases the source deleted, and record
    the build ('building'; the post-hook mark_incremental_built marks it 'built'). -#}
{% macro record_status_history_build() -%}
    {%- set changes = status_history_changes() -%}
    {%- if not execute -%}
        {{ return('select 1') }}
    {%- endif -%}
    {%- set closed = 0 -%}
    {%- if changes.history is not none -%}
        {#- By name: a hook's ref() must be a dependency dbt saw, and the snapshot's is the ephemeral model. -#}
        {%- set staged = adapter.get_relation(
            database=target.database, schema='staging', identifier='stg_case_system__representations'
        ) -%}
        {%- set close_deleted_sql -%}
            with closed as (
                update {{ changes.history }} as history
                set dbt_valid_to = {{ snapshot_get_time() }}
                where
                    history.dbt_valid_to is null
                    and {{ incremental_filter('history.representation_key', changes.cases, changes) }}
                    and not exists (
                        select 1
                        from (
                            select representation_key from {{ staged }}
                            where {{ incremental_filter('representation_key', changes.cases, changes) }}
                        ) as staged
                        where staged.representation_key = history.representation_key
                    )
                returning 1
            )
            select count(*) from closed
        {%- endset -%}
        {%- set closed = run_query(close_deleted_sql).columns[0].values()[0] -%}
    {%- endif -%}
    insert into {{ source('warehouse_audit', 'incremental_watermarks') }} (
        model, invocation_id, through_batch_id, after_batch_id, dependencies_md5, rebuilt_all,
        changed_cases, changed_keys, rows_deleted, status
    ) values (
        '{{ this.schema }}.{{ this.identifier }}', '{{ invocation_id }}', {{ changes.through }},
        {{ changes.previous if changes.previous is not none else 'null' }}, '', {{ changes.all }},
        {{ changes.cases | length }}, 0, {{ closed }}, 'building'
    )
    on conflict (model, invocation_id) do nothing
{%- endmacro %}


{#- dbt's snapshot comparison (snapshot_staging_table), with the history it compares against narrowed to
    the compared cases on a nightly build of the status snapshot (meta compared_cases:
    status_history_changes). dbt reads the snapshot's open versions in a CTE it uses twice, which
    PostgreSQL then copies whole (every case's open version, millions at national scale) to compare a few
    thousand; a literal list of the cases reaches the snapshot's index instead. The same rows: a case not
    compared has no source row to meet. Every other snapshot, and a comparison of every case, is dbt's. -#}
{% macro postgres__snapshot_staging_table(strategy, source_sql, target_relation) -%}
    {%- set history = target_relation -%}
    {%- if config.get('meta', {}).get('compared_cases') == 'status_history_changes' -%}
        {%- set changes = status_history_changes() -%}
        {%- if not changes.all -%}
            {%- set history -%}
                (
                    select * from {{ target_relation }}
                    where representation_key = any({{ key_array(changes.cases) }})
                ) as compared_history
            {%- endset -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(default__snapshot_staging_table(strategy, source_sql, history)) }}
{%- endmacro %}
