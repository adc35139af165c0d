{#- The key authority names are matched on: case, spacing and "&" vs "and" do not matter (as the loader's rule). -#}
{% macro authority_name_key(column) -%}
    lower(regexp_replace(replace(btrim({{ column }}), '&', 'and'), '\s+', ' ', 'g'))
{%- endmacro %}

{#- Every name an authority is published under, keyed the way names are matched (latest delivery wins),
    from the reference source: stg_reference__authority_names is this, and stg_ombudsman__annual_statistics
    resolves the names it is published under with it (a staging model reads sources only). -#}
{% macro latest_authority_names() %}
    with

    source as (
        select * from {{ source('reference', 'authority_names') }}
    ),

    keyed as (
        select
            {{ authority_name_key('authority_name') }} as authority_name_key,
            authority_name,
            ons_code,
            _batch_id,
            _row_number
        from source
    ),

    latest as (
        select
            *,
            row_number() over (
                partition by authority_name_key order by _batch_id desc, _row_number desc
            ) as version_rank
        from keyed
    )

    select
        authority_name_key,
        authority_name,
        ons_code
    from latest
    where version_rank = 1
{%- endmacro %}
