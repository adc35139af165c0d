-- One row per Ombudsman case reference, from the published decisions and the council's private
-- case-by-case spreadsheets, matched by reference so the two sets of figures can be reconciled.
with

decisions as (
    select * from {{ ref('stg_ombudsman__decisions') }}
),

council_cases as (
    select * from {{ ref('stg_ombudsman__council_cases') }}
),

names as (
    select * from {{ ref('stg_reference__authority_names') }}
),

dates as (
    select * from {{ ref('dim_date') }}
),

cases as (
    select
        coalesce(decisions.reference, council_cases.reference) as reference,
        coalesce(decisions.authority_name_key, council_cases.authority_name_key) as authority_name_key,
        coalesce(decisions.category, council_cases.category) as category,
        decisions.subcategory,
        coalesce(decisions.decision, council_cases.decision) as decision,
        coalesce(decisions.decision_date, council_cases.decision_date) as decision_date,
        council_cases.received_date,
        council_cases.remedy_due_date,
        council_cases.remedy_completed_date,
        council_cases.compliance_outcome,
        decisions.summary,
        decisions.reference is not null as is_published,
        council_cases.reference is not null as is_in_council_cases,
        greatest(decisions.batch_id, council_cases.batch_id) as batch_id
    from decisions
    full join council_cases
        on decisions.reference = council_cases.reference
),

final as (
    select
        cases.reference::text as reference,
        names.ons_code::text as ons_code,
        cases.category::text as category,
        cases.subcategory::text as subcategory,
        cases.decision::text as decision,
        cases.decision_date::date as decision_date,
        decided.financial_year::text as decision_financial_year,
        cases.received_date::date as received_date,
        cases.remedy_due_date::date as remedy_due_date,
        cases.remedy_completed_date::date as remedy_completed_date,
        cases.compliance_outcome::text as compliance_outcome,
        (cases.remedy_completed_date > cases.remedy_due_date)::boolean as is_remedy_late,
        (cases.decision = 'Upheld')::boolean as is_upheld,
        cases.is_published::boolean as is_published,
        cases.is_in_council_cases::boolean as is_in_council_cases,
        cases.summary::text as decision_summary,
        cases.batch_id::bigint as batch_id
    from cases
    inner join names
        on cases.authority_name_key = names.authority_name_key
    left join dates as decided
        on cases.decision_date = decided.date_day
)

select * from final
