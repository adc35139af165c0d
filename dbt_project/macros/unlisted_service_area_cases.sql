{#- The cases dim_service_area needs to read: those with any raw version naming a code that the
    sources' service area lists lack (a superset of the cases it uses, which int_service_areas__versions
    narrows to the current version). Every case ({'all': true}) when not building, or past 20,000. -#}
{% macro unlisted_service_area_cases() -%}
    {#- Before anything else, so that the model's parse records it: the source read below. -#}
    {%- set raw_representations = source('case_system', 'representations') -%}
    {%- set everything = {'all': true, 'cases': []} -%}
    {%- if not execute or flags.WHICH not in ['build', 'run'] -%}
        {{ return(everything) }}
    {%- endif -%}
    {#- The codes the cases name, walked one by one down the raw table's index of them (a loose index
        scan: a few thousand index lookups, not a scan of every version), then the cases naming a code the
        lists lack, and those naming none (a tombstone names none), looked up by the same index. -#}
    {%- set cases_sql -%}
        with recursive named as (
            (
                select _source_system, service_area_code
                from {{ raw_representations }}
                where service_area_code is not null
                order by _source_system, service_area_code
                limit 1
            )
            union all
            select next_code._source_system, next_code.service_area_code
            from named
            cross join lateral (
                select representations._source_system, representations.service_area_code
                from {{ raw_representations }} as representations
                where
                    (representations._source_system, representations.service_area_code)
                    > (named._source_system, named.service_area_code)
                    and representations.service_area_code is not null
                order by representations._source_system, representations.service_area_code
                limit 1
            ) as next_code
        ),

        unlisted as (
            select named._source_system, named.service_area_code
            from named
            where not exists (
                select 1 from {{ ref('stg_case_system__service_areas') }} as listed
                where
                    listed.source_system = named._source_system
                    and listed.service_area_code = named.service_area_code
            )
        )

        select representations._source_system || ':' || representations.representation_id
        from {{ raw_representations }} as representations
        inner join unlisted
            on
                representations._source_system = unlisted._source_system
                and representations.service_area_code = unlisted.service_area_code
        union
        select representations._source_system || ':' || representations.representation_id
        from {{ raw_representations }} as representations
        where representations.service_area_code is null
    {%- endset -%}
    {%- set cases = run_query(cases_sql).columns[0].values() | list -%}
    {#- A source that sends no list names every case: past 20,000 a literal list costs more than it saves. -#}
    {%- if cases | length > 20000 -%}
        {{ return(everything) }}
    {%- endif -%}
    {{ return({'all': false, 'cases': cases}) }}
{%- endmacro %}
