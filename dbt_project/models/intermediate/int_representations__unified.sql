-- One row per case across every source system. When a system replaced another (a migration), a case
-- carried over is counted once: from the newer system, which names the old id in
-- legacy_representation_id.
with

representations as (
    select * from {{ ref('stg_case_system__representations') }}
),

source_systems as (
    select * from {{ source('warehouse_audit', 'source_systems') }}
),

migrated as (
    select older.representation_key
    from representations as newer
    inner join source_systems
        on newer.source_system = source_systems.source_system
    inner join representations as older
        on
            source_systems.replaces = older.source_system
            and newer.legacy_representation_id = older.representation_id
)

-- Every column of the staged representations passes through unchanged.
select representations.*  -- noqa: AM04
from representations
where representations.representation_key not in (select migrated.representation_key from migrated)
