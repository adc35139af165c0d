-- The current version of each representation that names a case in the system it replaced (a migration):
-- only keys that ever named one are read, so this stays cheap beside a large raw table.
with

source as (
    {{ latest_versions(
        source('case_system', 'representations'), ['representation_id'],
        only_keys_where='legacy_representation_id is not null',
        version_column='updated_at',
    ) }}
),

renamed as (
    select
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        representation_id,
        legacy_representation_id
    from source
    where legacy_representation_id is not null
)

select * from renamed
