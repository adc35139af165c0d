{#-
    Aggregates kept up to date from the facts: a night adds what changed instead of adding ten years up again.

    An incremental fact takes out the rows of the cases it recomputes and writes their new rows (stamped with
    the run's built_at); incremental_changes keeps the rows it took out in audit.fact_removed_rows for the
    length of the run. An aggregate of the facts (int_bmmr__fact_counts, int_annual_report__fact_cells) then
    reads, per fact, the night's change as signed rows (fact_changes): each new row +1, each row taken out -1.
    Summed with their signs and added to the aggregate's previous totals, they give exactly what adding up
    every row again would (a sum of the rows in, less the rows out). Each aggregate keeps a count of the rows
    behind each of its groups, so a group left with none is dropped by its readers, as a full count would
    never have made it.

    The aggregate adds the night's change only when it is sure what that change is (aggregate_changes);
    otherwise it adds every row up again, as a first build and --full-refresh do:
      - it was built before (not --full-refresh), and its last build recorded the same checksum of the
        dimensions it looks names up in (a renamed service area or a regrouped outcome would otherwise be
        subtracted under its new name) and of the SQL it counts with (a release that counts differently);
      - each fact it reads was built in this run, incrementally (not every row), every row it took out is
        kept, and its previous build was in the aggregate's last build's run: the aggregate and its facts
        move together, so the rows taken out and written in this run are all that changed since.
    A run that builds some facts without the aggregate (a `dbt build --select`) makes its next build add
    everything up again, once.
-#}

{#- dbt's on-run-start (the rows of runs that died) and on-run-end (this run's): a run's removed rows are read
    only within that run. One dbt at a time holds the warehouse (complaints_warehouse.warehouse.locks); a
    run started by hand beside it would still only make the night's aggregates add everything up again
    (aggregate_changes counts the rows kept against what each fact took out). -#}
{% macro forget_removed_fact_rows(this_run) -%}
    {%- if execute -%}
        delete from {{ source('warehouse_audit', 'fact_removed_rows') }}
        where invocation_id {{ '=' if this_run else '<>' }} '{{ invocation_id }}'
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{#- Whether this build of an aggregate of ``facts`` (model names) adds only the run's change, recorded in
    audit.incremental_watermarks like a fact's build ('building'; the post-hook mark_incremental_built marks
    it 'built'). ``dimensions_sql`` returns one text, what the aggregate looks up in dimensions; ``rules``
    is the SQL it counts with (its macros of events or cells): a release that counts differently, like a
    dimension that changed, makes it add everything up again. Returns {'all': true} to add every row up
    again, {'all': false} to add the change. -#}
{% macro aggregate_changes(facts, dimensions_sql, rules) -%}
    {%- set watermarks = source('warehouse_audit', 'incremental_watermarks') -%}
    {%- set kept_rows = source('warehouse_audit', 'fact_removed_rows') -%}
    {%- do source('warehouse_audit', 'load_batches') -%}
    {%- set everything = {'all': true} -%}
    {%- if not execute or flags.WHICH not in ['run', 'build'] -%}
        {{ return(everything) }}
    {%- endif -%}
    {%- set model_name = this.schema ~ '.' ~ this.identifier -%}
    {%- set dimensions = run_query("select (" ~ dimensions_sql ~ ")::text").columns[0].values()[0] -%}
    {%- set dimensions_md5 = local_md5((dimensions or '') ~ '|' ~ rules ~ '|' ~ model.raw_code) -%}
    {%- set fact_names = [] -%}
    {%- for fact in facts -%}
        {%- set relation = ref(fact) -%}
        {%- do fact_names.append(relation.schema ~ '.' ~ relation.identifier) -%}
    {%- endfor -%}

    {%- set all = true -%}
    {%- set reason = 'no earlier build' -%}
    {%- if is_incremental() -%}
        {%- set check_sql -%}
            with last as (
                select invocation_id, dependencies_md5 from {{ watermarks }}
                where model = '{{ model_name }}' and status = 'built'
                order by finished_at desc limit 1
            ),

            facts as (
                select
                    fact.model,
                    tonight.rebuilt_all,
                    tonight.rows_deleted,
                    (
                        select count(*) from {{ kept_rows }} as kept
                        where kept.model = fact.model and kept.invocation_id = '{{ invocation_id }}'
                    ) as rows_kept,
                    (
                        select before.invocation_id from {{ watermarks }} as before
                        where
                            before.model = fact.model and before.status = 'built'
                            and before.invocation_id <> '{{ invocation_id }}'
                        order by before.finished_at desc limit 1
                    ) as previous_invocation
                from unnest(array['{{ fact_names | join("', '") }}']) as fact (model)
                left join {{ watermarks }} as tonight
                    on
                        fact.model = tonight.model
                        and tonight.invocation_id = '{{ invocation_id }}'
                        and tonight.status = 'built'
            )

            select
                case
                    when (select count(*) from last) = 0 then 'no earlier build'
                    when (select dependencies_md5 from last) <> '{{ dimensions_md5 }}' then 'dimensions changed'
                    when exists (select 1 from facts where rebuilt_all is null) then 'a fact not built in this run'
                    when exists (select 1 from facts where rebuilt_all) then 'a fact rebuilt every row'
                    when exists (select 1 from facts where rows_kept <> rows_deleted)
                        then 'the rows a fact took out are not all kept'
                    when exists (
                        select 1 from facts
                        where previous_invocation is distinct from (select invocation_id from last)
                    ) then 'a fact built without it since'
                end
        {%- endset -%}
        {%- set reason = run_query(check_sql).columns[0].values()[0] -%}
        {%- set all = reason is not none -%}
    {%- endif -%}

    {%- do record_build(model_name, loaded_through_batch(), none, dimensions_md5, all, 0, 0, 0) -%}
    {#- Adding every row up again on an existing table: its groups go first (in the model's transaction, as
        a fact's changed rows do), or a group no row makes any more would stay. -#}
    {%- if all and is_incremental() -%}
        {{ log(model_name ~ ' adds every row up again: ' ~ reason, info=true) }}
        {%- do run_query('delete from ' ~ this) -%}
    {%- endif -%}
    {{ return({'all': all}) }}
{%- endmacro %}


{#- The rows of ``fact`` (a model name) an aggregate adds up, with a column _sign: every row (+1) when
    ``changes.all``; otherwise the rows this run wrote (+1) and the rows it took out (-1). -#}
{% macro fact_changes(fact, changes) -%}
    {%- set relation = ref(fact) -%}
    {%- if changes.all -%}
        select {{ fact }}_rows.*, 1 as _sign from {{ relation }} as {{ fact }}_rows
    {%- else -%}
        select {{ fact }}_rows.*, 1 as _sign from {{ relation }} as {{ fact }}_rows
        where {{ fact }}_rows.built_at = {{ built_at() }}
        union all
        select removed.*, -1 as _sign
        from {{ source('warehouse_audit', 'fact_removed_rows') }} as kept
        cross join lateral jsonb_populate_record(null::{{ relation }}, kept.removed) as removed
        where
            kept.model = '{{ relation.schema }}.{{ relation.identifier }}'
            and kept.invocation_id = '{{ invocation_id }}'
    {%- endif -%}
{%- endmacro %}

