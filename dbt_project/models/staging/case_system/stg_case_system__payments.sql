-- The current version of each payment made.
with

source as (
    {{ latest_versions(source('case_system', 'payments'), ['payment_id'], version_column='updated_at') }}
),

renamed as (
    select
        _source_system || ':' || payment_id as payment_key,
        _source_system || ':' || remedy_id as remedy_key,
        _source_system || ':' || representation_id as representation_key,
        _source_system as source_system,
        payment_id,
        payment_date,
        amount as amount_gbp,
        payment_type,
        updated_at as source_updated_at,
        _batch_id as batch_id
    from source
)

select * from renamed
