-- The latest version of each case in the Ombudsman's private case-by-case spreadsheets, per reference.
with

source as (
    {{ latest_versions(source('ombudsman', 'council_cases'), ['reference']) }}
),

renamed as (
    select
        reference,
        authority_name,
        {{ authority_name_key('authority_name') }} as authority_name_key,
        category,
        received_date,
        decision,
        decision_date,
        remedy_due_date,
        remedy_completed_date,
        compliance_outcome,
        _batch_id as batch_id
    from source
)

select * from renamed
