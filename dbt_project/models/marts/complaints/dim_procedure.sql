-- The complaint procedures, their legal basis and stage timescales, from the council-edited seed.
with

procedures as (
    select * from {{ ref('procedures') }}
),

final as (
    select
        procedure_code::text as procedure_code,
        procedure_name::text as procedure_name,
        legal_basis::text as legal_basis,
        stage_0_working_days::int as stage_0_working_days,
        stage_1_working_days::int as stage_1_working_days,
        stage_2_working_days::int as stage_2_working_days,
        stage_3_working_days::int as stage_3_working_days,
        sort_order::int as sort_order
    from procedures
)

select * from final
