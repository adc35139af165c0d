-- The latest delivered version of each representation, renamed and typed.
with

source as (
    select * from {{ source('case_system', 'representations') }}
),

latest as (
    select
        *,
        row_number() over (
            partition by representation_id order by _batch_id desc, _row_number desc
        ) as version_rank
    from source
),

renamed as (
    select
        representation_id,
        representation_type,
        procedure as procedure_code,
        received_date,
        closed_date,
        status,
        channel,
        service_area_code,
        service_area_name,
        directorate,
        risk_level,
        coalesce(joint_with_nhs, false) as is_joint_with_nhs,
        updated_at as source_updated_at,
        _batch_id as batch_id,
        _loaded_at as loaded_at
    from latest
    where version_rank = 1
)

select * from renamed
