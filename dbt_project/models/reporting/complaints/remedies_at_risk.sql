-- Remedies not yet completed that are overdue, or have used more than 75 % of the time between their
-- agreement and their due date: the list a complaints manager chases. "Today" is the latest day the
-- case system has data for (so a reloaded history reads as it did then, not against the clock).
with

remedies as (
    select * from {{ ref('fct_remedies') }}
),

representations as (
    select * from {{ ref('fct_representations') }}
),

as_of as (
    select max(received_date) as as_of_date
    from representations
),

open_remedies as (
    select
        remedies.*,
        as_of.as_of_date,
        remedies.due_date - remedies.agreed_date as days_allowed,
        as_of.as_of_date - remedies.agreed_date as days_elapsed
    from remedies
    cross join as_of
    where
        not remedies.is_completed
        and remedies.due_date is not null
),

final as (
    select
        remedy_key::text as remedy_key,
        representation_key::text as representation_key,
        remedy_type::text as remedy_type,
        recommended_by::text as recommended_by,
        directorate::text as directorate,
        procedure_code::text as procedure_code,
        agreed_date::date as agreed_date,
        due_date::date as due_date,
        as_of_date::date as as_of_date,
        days_allowed::int as days_allowed,
        days_elapsed::int as days_elapsed,
        round(100.0 * days_elapsed / nullif(days_allowed, 0), 1)::numeric as time_used_pct,
        (case when as_of_date > due_date then 'overdue' else 'at risk' end)::text as risk_status,
        amount_gbp::numeric(12, 2) as amount_gbp
    from open_remedies
    where as_of_date > due_date or days_elapsed > 0.75 * days_allowed
)

select * from final
