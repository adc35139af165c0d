-- The council's own records of Ombudsman cases against the Ombudsman's case-by-case spreadsheets,
-- reference by reference: matched, only in ours, only in theirs, and, where both have a case, whether
-- the decision or its date differ. The two never match exactly (one seed council says so): this shows
-- where and how.
with

ours as (
    select * from {{ ref('stg_case_system__ombudsman_cases') }}
),

theirs as (
    select * from {{ ref('stg_ombudsman__council_cases') }}
),

compared as (
    select
        coalesce(ours.ombudsman_reference, theirs.reference) as ombudsman_reference,
        ours.representation_key,
        ours.decision_code as our_decision,
        -- Their labels ("Not upheld", "Incomplete/Invalid") read as our codes
        -- (not_upheld, incomplete_invalid).
        trim(both '_' from regexp_replace(lower(theirs.decision), '[^a-z]+', '_', 'g')) as their_decision,
        ours.decision_date as our_decision_date,
        theirs.decision_date as their_decision_date,
        ours.ombudsman_reference is not null as in_ours,
        theirs.reference is not null as in_theirs
    from ours
    full outer join theirs
        on ours.ombudsman_reference = theirs.reference
),

final as (
    select
        ombudsman_reference::text as ombudsman_reference,
        representation_key::text as representation_key,
        (case
            when not in_theirs then 'only ours'
            when not in_ours then 'only theirs'
            when our_decision is distinct from their_decision then 'decision differs'
            when our_decision_date is distinct from their_decision_date then 'date differs'
            else 'matched'
        end)::text as reconciliation_status,
        our_decision::text as our_decision,
        their_decision::text as their_decision,
        our_decision_date::date as our_decision_date,
        their_decision_date::date as their_decision_date,
        (their_decision_date - our_decision_date)::int as decision_date_difference_days
    from compared
)

select * from final
