-- What the status snapshot (representation_status_history) compares: the staged representations, on a
-- nightly build only those of the cases the night's load touched (see status_history_changes).
{{ config(materialized='ephemeral') }}
{%- set changes = status_history_changes() %}

-- Every column of the staged representations passes through unchanged (the snapshot keeps them all).
select * from {{ ref('stg_case_system__representations') }}  -- noqa: AM04
where {{ incremental_filter('representation_key', changes.cases, changes) }}
