-- One row per case across every source system. When a system replaced another (a migration), a case
-- carried over is counted once: from the newer system, which names the old id in
-- legacy_representation_id. The cases removed are found from the (few) cases that name a legacy id, so a
-- filter on representation_key still reaches the staging view's raw table (incremental facts).
with

representations as (
    select * from {{ ref('stg_case_system__representations') }}
),

legacy_links as (
    select * from {{ ref('stg_case_system__legacy_links') }}
),

source_systems as (
    select * from {{ source('warehouse_audit', 'source_systems') }}
),

migrated as (
    select source_systems.replaces || ':' || legacy_links.legacy_representation_id as representation_key
    from legacy_links
    inner join source_systems
        on legacy_links.source_system = source_systems.source_system
    where source_systems.replaces is not null
)

-- Every column of the staged representations passes through unchanged.
select representations.*  -- noqa: AM04
from representations
where not exists (
    select 1 from migrated
    where migrated.representation_key = representations.representation_key
)
