-- The latest version of each case in the Ombudsman's private case-by-case spreadsheets, per reference.
with

source as (
    select * from {{ source('ombudsman', 'council_cases') }}
),

latest as (
    select
        *,
        row_number() over (partition by reference order by _batch_id desc, _row_number desc) as version_rank
    from source
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
    from latest
    where version_rank = 1
)

select * from renamed
