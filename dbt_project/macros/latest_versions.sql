{#-
    The current version of each key in an append-only raw table: the row from the latest batch (and,
    within a batch, the last row), per source system. Keys whose latest version is a tombstone (the
    source deleted them) are gone. Every staging model starts here.
    only_keys_where: consider only the keys that ever had a row meeting this condition (filtered before
    the window function, so it is cheap on a large raw table).
-#}
{% macro latest_versions(relation, key_columns, only_keys_where=none) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by _source_system, {{ key_columns | join(', ') }}
                order by _batch_id desc, _row_number desc nulls first
            ) as version_rank
        from {{ relation }}
        {%- if only_keys_where %}
        where (_source_system, {{ key_columns | join(', ') }}) in (
            select _source_system, {{ key_columns | join(', ') }}
            from {{ relation }}
            where {{ only_keys_where }}
        )
        {%- endif %}
    ) as versions
    where version_rank = 1 and not _is_deleted
{%- endmacro %}
