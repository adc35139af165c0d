{#-
    Incremental facts: each night a fact recomputes only the cases the night's load touched.

    The unit of change is the case (representation_key): every fact row takes attributes from its
    case (procedure, directorate, service area version, received date), so a change anywhere in a case
    recomputes all of that case's rows in every fact, and a fact keyed by its own row (complaint points,
    remedies, payments; the Ombudsman cases of int_ombudsman__case_decisions) also recomputes each row
    whose own key was re-sent or deleted.

    Changed cases, from the raw batches loaded after the fact's last build (audit.incremental_watermarks):
      - every case named by a row (new version or tombstone) of representations, stages, complaint
        points, remedies or payments in those batches;
      - the older system's case a newer system's case names as its legacy id (a migration removes it);
      - every case of a service area whose version list changed (a reorganisation moves cases to a new
        version), and every case whose service area version no longer exists in dim_service_area (looked
        for only when dim_service_area's keys changed since the fact's last build: until then every
        version its rows name is still there);
      - all cases when the calendar (bank holidays, working days), the procedures' timescales or the
        codes of dim_stage, dim_outcome and dim_complaint_nature changed since the last build (their
        checksum is recorded; the codes because a nightly build tests only the rows it recomputes, so
        a code taken away must bring every row under its relationships test), or when there is no
        watermark yet.

    When run by `dbt run` / `dbt build` of an existing fact (not --full-refresh), this macro, called as
    the model is compiled: records the build ('building'), works out the changed cases and keys, and
    deletes their rows from the fact. All of it runs in the model's own transaction, which dbt commits
    with the new rows (the post-hook marks the build 'built'), so a failed build changes nothing. The
    model then selects only those cases, with literal key lists, so that PostgreSQL pushes the filter
    down through the staging views to the raw tables (see incremental_filter).

    ``service_area_key``: false for a model whose rows carry no service area version (nothing of theirs
    can name a version that is gone).

    Returns {all, cases, own_keys, join_cases}: the cases and own rows to take out and recompute, and
    the cases a model keyed by its own row reads to join those rows to (the changed cases and every case
    a version of those rows names: a row moved to another case still finds it).
-#}

{% macro incremental_changes(own_table=none, own_key=none, own_key_column=none, service_area_key=true) -%}
    {#- Before anything else, so that the model's parse records them: the sources read below. -#}
    {%- set tables = change_sources(own_table) -%}
    {%- set nothing = {'all': true, 'cases': [], 'own_keys': [], 'join_cases': []} -%}
    {%- if not execute or flags.WHICH not in ['run', 'build'] -%}
        {{ return(nothing) }}
    {%- endif -%}
    {%- set incremental = is_incremental() -%}
    {%- set model_name = this.schema ~ '.' ~ this.identifier -%}

    {%- set through = loaded_through_batch() -%}
    {%- set dependencies_md5 = run_query(
        "select md5(coalesce((select string_agg(date_day || ':' || working_day_index || ':' || is_working_day, ','"
        ~ " order by date_day) from " ~ ref('dim_date') ~ "), '')"
        ~ " || coalesce((select string_agg(procedures::text, ',' order by procedures::text) from "
        ~ ref('procedures') ~ " as procedures), '')"
        ~ " || coalesce((select string_agg(codes::text, ',' order by codes::text) from ("
        ~ " select 'stage', stage_code from " ~ ref('dim_stage')
        ~ " union all select 'outcome', outcome_code from " ~ ref('dim_outcome')
        ~ " union all select 'nature', nature_code from " ~ ref('dim_complaint_nature') ~ ") as codes), ''))"
    ).columns[0].values()[0] -%}
    {%- set service_areas_md5 = run_query(
        "select md5(coalesce(string_agg(service_area_key, ',' order by service_area_key), '')) from "
        ~ ref('dim_service_area')
    ).columns[0].values()[0] -%}
    {%- set previous = none -%}
    {%- set service_areas_changed = true -%}
    {%- if incremental -%}
        {%- set last = run_query(
            "select through_batch_id, dependencies_md5, service_areas_md5 from " ~ tables.incremental_watermarks
            ~ " where model = '" ~ model_name ~ "' and status = 'built' order by finished_at desc limit 1"
        ) -%}
        {%- if last.rows | length > 0 and last.rows[0][1] == dependencies_md5 -%}
            {%- set previous = last.rows[0][0] -%}
            {%- set service_areas_changed = last.rows[0][2] != service_areas_md5 -%}
        {%- endif -%}
    {%- endif -%}

    {%- set changes = {'all': previous is none, 'cases': [], 'own_keys': [], 'join_cases': []} -%}
    {%- if previous is not none -%}
        {%- set window = '_batch_id > ' ~ previous ~ ' and _batch_id <= ' ~ through -%}
        {%- set cases_sql -%}
            with touched as (
                {% for table in ['representations', 'stages', 'complaint_points', 'remedies', 'payments'] -%}
                select _source_system || ':' || representation_id as representation_key
                from {{ tables[table] }}
                where {{ window }} and representation_id is not null
                {% if not loop.last %}union{% endif %}
                {% endfor -%}
                -- A newer system's case removes the older system's case it names.
                union
                select source_systems.replaces || ':' || representations.legacy_representation_id
                from {{ tables.representations }} as representations
                inner join {{ tables.source_systems }} as source_systems
                    on representations._source_system = source_systems.source_system
                where
                    representations.{{ window }}
                    and representations.legacy_representation_id is not null
                    and source_systems.replaces is not null
                -- A service area whose versions changed: its cases may belong to another version now.
                union
                select representations._source_system || ':' || representations.representation_id
                from {{ tables.representations }} as representations
                where (representations._source_system, representations.service_area_code) in (
                    select service_areas._source_system, service_areas.service_area_code
                    from {{ tables.service_areas }} as service_areas
                    where service_areas.{{ window }}
                )
                {%- if service_areas_changed and service_area_key %}
                -- A case whose service area version is gone (a version derived from the cases moved).
                union
                select fact.representation_key
                from {{ this }} as fact
                where
                    fact.service_area_key is not null
                    and not exists (
                        select 1 from {{ ref('dim_service_area') }} as versions
                        where versions.service_area_key = fact.service_area_key
                    )
                {%- endif %}
            )
            {% if own_table -%}
            -- The fact's own rows re-sent or deleted: their case, as any version of the row names it
            -- (looked up by the raw table's index of the row's key).
            , own_touched as (
                select distinct _source_system || ':' || {{ own_key_column }} as own_key
                from {{ tables[own_table] }}
                where {{ window }}
            )
            select _source_system || ':' || representation_id
            from {{ tables[own_table] }}
            where
                representation_id is not null
                and _source_system || ':' || {{ own_key_column }} in (select own_key from own_touched)
            union
            {%- endif %}
            select representation_key from touched
        {%- endset -%}
        {%- do changes.update({'cases': run_query(cases_sql).columns[0].values() | list}) -%}
        {%- do changes.update({'join_cases': changes.cases}) -%}
        {%- if own_table -%}
            {#- Two selects, not one with `or`: each is looked up by an index of the raw table. -#}
            {%- set keys_sql -%}
                select _source_system || ':' || {{ own_key_column }}
                from {{ tables[own_table] }}
                where {{ window }}
                union
                select _source_system || ':' || {{ own_key_column }}
                from {{ tables[own_table] }}
                where _source_system || ':' || representation_id = any({{ key_array(changes.cases) }})
            {%- endset -%}
            {%- do changes.update({'own_keys': run_query(keys_sql).columns[0].values() | list}) -%}
            {#- The cases those rows name now, to join them to: a row taken out because an older version
                named a changed case may belong to another case since (a payment moved to another case
                one night, its first case changed a later night), which must be read too. -#}
            {%- if changes.own_keys | length > 0 -%}
                {%- set named_sql -%}
                    select distinct _source_system || ':' || representation_id
                    from {{ tables[own_table] }}
                    where
                        _source_system || ':' || {{ own_key_column }} = any({{ key_array(changes.own_keys) }})
                        and representation_id is not null
                {%- endset -%}
                {%- set named = run_query(named_sql).columns[0].values() | list -%}
                {%- do changes.update({'join_cases': (changes.cases + named) | unique | list}) -%}
            {%- endif -%}
        {%- endif -%}
        {#- Beyond 200,000 keys a literal list no longer pays: recompute every row. -#}
        {%- if changes.cases | length + changes.own_keys | length > 200000 -%}
            {%- do changes.update({'all': true, 'cases': [], 'own_keys': [], 'join_cases': []}) -%}
        {%- endif -%}
    {%- endif -%}

    {#- Take the changed rows out (all of them when recomputing every row); the model puts them back. -#}
    {%- set deleted = 0 -%}
    {%- if incremental -%}
        {#- The rows taken out of changed cases are kept for this run (audit.fact_removed_rows): the
            aggregates kept from the facts subtract them (fact_changes). Not when every row goes: those
            aggregates then add everything up again. -#}
        {%- set delete_sql -%}
            with deleted as (
                delete from {{ this }}
                {%- if not changes.all %}
                where
                    representation_key = any({{ key_array(changes.cases) }})
                    {%- if own_key %} or {{ own_key }} = any({{ key_array(changes.own_keys) }}){% endif %}
                returning *
            ),

            kept as (
                insert into {{ tables.fact_removed_rows }} (model, invocation_id, removed)
                select '{{ model_name }}', '{{ invocation_id }}', to_jsonb(deleted) from deleted
            )
                {%- else %}
                returning 1
            )
                {%- endif %}
            select count(*) from deleted
        {%- endset -%}
        {%- set deleted = run_query(delete_sql).columns[0].values()[0] -%}
    {%- endif -%}

    {%- do record_build(
        model_name, through, previous, dependencies_md5, changes.all,
        changes.cases | length, changes.own_keys | length, deleted, service_areas_md5
    ) -%}
    {{ return(changes) }}
{%- endmacro %}


{#- A SQL array literal of keys (text), quotes doubled. -#}
{% macro key_array(keys) -%}
    {%- if keys | length == 0 -%}
        array[]::text[]
    {%- else -%}
        array[{% for key in keys %}'{{ key | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %}]::text[]
    {%- endif -%}
{%- endmacro %}


{#- Restrict a CTE to the changed keys: a condition on a constant list, so PostgreSQL can push it down
    through the staging views' window functions (their PARTITION BY is the key). -#}
{% macro incremental_filter(column, keys, changes) -%}
    {%- if changes.all -%}
        true
    {%- else -%}
        {{ column }} = any({{ key_array(keys) }})
    {%- endif -%}
{%- endmacro %}


{#- An incremental build starting ('building', in the model's transaction): its row in
    audit.incremental_watermarks, which mark_incremental_built marks 'built'. -#}
{% macro record_build(model_name, through, after, dependencies_md5, rebuilt_all, changed_cases, changed_keys, deleted, service_areas_md5=none) -%}
    {%- do run_query(
        "insert into " ~ source('warehouse_audit', 'incremental_watermarks') ~ " (model, invocation_id,"
        ~ " through_batch_id, after_batch_id, dependencies_md5, rebuilt_all, changed_cases, changed_keys,"
        ~ " rows_deleted, service_areas_md5, status) values ('" ~ model_name ~ "', '" ~ invocation_id ~ "', "
        ~ through ~ ", " ~ (after if after is not none else 'null') ~ ", '" ~ dependencies_md5 ~ "', "
        ~ rebuilt_all ~ ", " ~ changed_cases ~ ", " ~ changed_keys ~ ", " ~ deleted ~ ", "
        ~ ("'" ~ service_areas_md5 ~ "'" if service_areas_md5 is not none else 'null') ~ ", 'building')"
        ~ " on conflict (model, invocation_id) do nothing"
    ) -%}
{%- endmacro %}


{#- The post-hook of an incremental fact: the build that started is done (same transaction as its rows). -#}
{% macro mark_incremental_built() -%}
    update {{ source('warehouse_audit', 'incremental_watermarks') }}
    set status = 'built', finished_at = clock_timestamp()
    where model = '{{ this.schema }}.{{ this.identifier }}' and invocation_id = '{{ invocation_id }}'
{%- endmacro %}


{#- The batch a build reads through: the latest finished batch, but never past a batch still loading (a
    lower id may commit after a higher one). -#}
{% macro loaded_through_batch() -%}
    {{ return(run_query(
        "select coalesce(least(max(batch_id) filter (where status <> 'running'),"
        ~ " min(batch_id) filter (where status = 'running') - 1), 0) from "
        ~ source('warehouse_audit', 'load_batches')
    ).columns[0].values()[0]) }}
{%- endmacro %}


{#- The raw and audit tables the change-tracking macros read, as declared sources (case_system and
    warehouse_audit, models/staging/case_system/_case_system__sources.yml), by table name. A model calling
    incremental_changes or status_history_changes calls this as dbt parses it (before any `if not
    execute`), so dbt records the sources as the model's: lineage and docs show what it reads.
    ``own_table``: a model's own case-system table beyond these (int_ombudsman__case_decisions'). -#}
{% macro change_sources(own_table=none) -%}
    {%- set tables = {} -%}
    {%- set case_tables = ['representations', 'stages', 'complaint_points', 'remedies', 'payments', 'service_areas'] -%}
    {%- for table in case_tables + ([own_table] if own_table and own_table not in case_tables else []) -%}
        {%- do tables.update({table: source('case_system', table)}) -%}
    {%- endfor -%}
    {%- for table in ['source_systems', 'load_batches', 'incremental_watermarks', 'fact_removed_rows'] -%}
        {%- do tables.update({table: source('warehouse_audit', table)}) -%}
    {%- endfor -%}
    {{ return(tables) }}
{%- endmacro %}
