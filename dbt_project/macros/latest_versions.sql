{#-
    The current version of each key in an append-only raw table, per source system: the row with the
    latest source time (version_column, the source's updated_at), then from the latest batch, then the
    last row of the batch -- so a late, older export does not overwrite newer data. Without a
    version_column (sources with no time of their own), the latest batch. Keys whose current version is
    a tombstone (the source deleted them) are gone: the loader stores a tombstone with the time of the
    version it deleted, so it beats that version and older ones, and a row re-appearing with a newer
    updated_at is current again (ingestion/raw_tables.py; the loader's <table>__current agrees).
    Every staging model starts here.
    only_keys_where: consider only the keys that ever had a row meeting this condition (filtered before
    the versions are ordered, so it is cheap on a large raw table).
-#}
{% macro latest_versions(relation, key_columns, only_keys_where=none, version_column=none) -%}
    {#- DISTINCT ON, not row_number() = 1: the same first row of each key, but the planner estimates the
        rows of a DISTINCT ON from the key's statistics (one per key), where it takes "row_number() = 1"
        for half a percent of the versions and plans the joins above for a few hundred rows. -#}
    select *
    from (
        select distinct on (_source_system, {{ key_columns | join(', ') }}) *
        from {{ relation }}
        {%- if only_keys_where %}
        where (_source_system, {{ key_columns | join(', ') }}) in (
            select _source_system, {{ key_columns | join(', ') }}
            from {{ relation }}
            where {{ only_keys_where }}
        )
        {%- endif %}
        order by
            _source_system, {{ key_columns | join(', ') }},
            {% if version_column %}{{ version_column }} desc nulls last, {% endif -%}
            _batch_id desc, _row_number desc nulls first
    ) as versions
    where not _is_deleted
{%- endmacro %}
