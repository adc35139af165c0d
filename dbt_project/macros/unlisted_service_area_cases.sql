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
    {%- set cases_sql -%}
        select distinct representations._source_system || ':' || representations.representation_id
        from {{ raw_representations }} as representations
        where not exists (
            select 1 from {{ ref('stg_case_system__service_areas') }} as listed
            where
                listed.source_system = representations._source_system
                and listed.service_area_code = representations.service_area_code
        )
    {%- endset -%}
    {%- set cases = run_query(cases_sql).columns[0].values() | list -%}
    {#- A source that sends no list names every case: past 20,000 a literal list costs more than it saves. -#}
    {%- if cases | length > 20000 -%}
        {{ return(everything) }}
    {%- endif -%}
    {{ return({'all': false, 'cases': cases}) }}
{%- endmacro %}
