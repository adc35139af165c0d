-- Service areas and their directorate, one row per version (type 2): councils reorganise, so a code
-- moves between directorates over time. From the source's own list where it sends one; a source
-- that sends none gets one version per code, as its cases last described it, valid from its first case.
-- A table, built once a night: only the cases that ever named a code the lists lack are read (a literal
-- key list, which PostgreSQL pushes down to the raw table; see unlisted_service_area_cases), so a source
-- that lists its service areas costs no scan of every case. dim_service_area publishes it, and
-- int_representations__service_area_versions looks each case's version up in it (so an incremental fact
-- filtering on representation_key computes only its cases).
{{ config(materialized='table') }}
{%- set cases = unlisted_service_area_cases() %}
with

listed as (
    select * from {{ ref('stg_case_system__service_areas') }}
),

representations as (
    select * from {{ ref('int_representations__unified') }}
    where {{ incremental_filter('representation_key', cases.cases, cases) }}
),

seen_on_cases as (
    select
        source_system,
        service_area_code,
        service_area_name,
        directorate,
        min(received_date) over (partition by source_system, service_area_code) as first_received_date,
        row_number() over (
            partition by source_system, service_area_code
            order by received_date desc, representation_id desc
        ) as recency_rank
    from representations
),

combined as (
    select
        source_system,
        service_area_code,
        service_area_name,
        directorate,
        valid_from,
        valid_to
    from listed
    union all
    select
        source_system,
        service_area_code,
        service_area_name,
        directorate,
        first_received_date as valid_from,
        null::date as valid_to
    from seen_on_cases
    where
        recency_rank = 1
        and not exists (
            select 1 from listed
            where
                listed.source_system = seen_on_cases.source_system
                and listed.service_area_code = seen_on_cases.service_area_code
        )
),

versioned as (
    select
        *,
        -- The latest version is the current one, whatever its valid_to says.
        row_number() over (
            partition by source_system, service_area_code order by valid_from desc
        ) = 1 as is_current
    from combined
),

final as (
    select
        source_system || ':' || service_area_code || ':' || valid_from as service_area_key,
        source_system || ':' || service_area_code as service_area_durable_key,
        source_system,
        service_area_code,
        coalesce(service_area_name, service_area_code) as service_area_name,
        directorate,
        valid_from,
        valid_to,
        is_current
    from versioned
)

select * from final
