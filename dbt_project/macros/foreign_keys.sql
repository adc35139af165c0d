{#
    Foreign keys from every mart fact to the dimensions it joins, for BI tools: Metabase reads them
    through the JDBC driver's imported keys and Power BI from the constraints, so relationships are drawn
    for the user instead of by hand.

    They are taken off before every run (on-run-start) and declared again after it (on-run-end): a table
    model is rebuilt by replacing it and dropping the old table with cascade, which would take the keys
    that point at it, and a fact and its dimension rebuilt side by side (dbt's threads) would each wait for
    the other's lock on the key between them. Each one comes from a
    `relationships` test of a mart (the join, its columns and the dimension it points to are declared
    there once) whose parent is a rebuilt table (a dimension) with a primary or unique key on the column.
    They are NOT VALID: the relationships tests already prove every row has its dimension, so PostgreSQL
    does not scan the facts again each night; rows inserted later are checked.
#}
{% macro foreign_keys() %}
    {%- set keys = [] -%}
    {%- if execute -%}
        {%- for test in graph.nodes.values()
            if test.resource_type == 'test'
            and test.test_metadata
            and test.test_metadata.name == 'relationships' -%}
            {%- set child = graph.nodes.get(test.attached_node) -%}
            {%- set parents = test.depends_on.nodes | reject('equalto', test.attached_node) | list -%}
            {%- set parent = graph.nodes.get(parents[0]) if parents | length == 1 else none -%}
            {%- if child and parent
                and child.resource_type == 'model' and parent.resource_type == 'model'
                and child.config.schema == 'marts' and parent.config.schema == 'marts'
                and child.config.materialized in ('table', 'incremental')
                and parent.config.materialized == 'table'
                and child.name != parent.name -%}
                {%- do keys.append({
                    'child': child.schema ~ '.' ~ (child.alias or child.name),
                    'column': test.test_metadata.kwargs.column_name,
                    'parent': parent.schema ~ '.' ~ (parent.alias or parent.name),
                    'field': test.test_metadata.kwargs.field,
                    'name': 'fk_' ~ local_md5(child.name ~ '.' ~ test.test_metadata.kwargs.column_name)[:8]
                        ~ '_' ~ ((child.alias or child.name) ~ '__' ~ test.test_metadata.kwargs.column_name)[:50],
                }) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(keys | unique(attribute='name') | list) }}
{% endmacro %}

{% macro drop_foreign_keys() %}
    {%- for key in foreign_keys() %}
        do $fk$
        begin
            if exists (
                select 1 from pg_constraint
                where conrelid = to_regclass('{{ key.child }}') and conname = '{{ key.name }}'
            ) then
                alter table {{ key.child }} drop constraint {{ key.name }};
            end if;
        end
        $fk$;
    {%- endfor %}
{% endmacro %}

{% macro declare_foreign_keys() %}
    {#- to_regclass throughout: a table not built yet (a partial build) is skipped, never an error. #}
    {%- for key in foreign_keys() %}
        do $fk$
        begin
            if to_regclass('{{ key.child }}') is not null
                and to_regclass('{{ key.parent }}') is not null
                and not exists (
                    select 1 from pg_constraint
                    where conrelid = to_regclass('{{ key.child }}') and conname = '{{ key.name }}'
                )
                and exists (
                    select 1 from pg_constraint as c
                    inner join pg_attribute as a
                        on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
                    where c.conrelid = to_regclass('{{ key.parent }}')
                        and c.contype in ('p', 'u')
                        and cardinality(c.conkey) = 1
                        and a.attname = '{{ key.field }}'
                )
            then
                execute 'alter table {{ key.child }} add constraint {{ key.name }} '
                    || 'foreign key ({{ key.column }}) references {{ key.parent }} ({{ key.field }}) not valid';
            end if;
        end
        $fk$;
    {%- endfor %}
{% endmacro %}
