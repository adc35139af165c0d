-- Every name an authority is published under, keyed the way names are matched (latest delivery wins).
with

source as (
    select * from {{ source('reference', 'authority_names') }}
),

keyed as (
    select
        {{ authority_name_key('authority_name') }} as authority_name_key,
        authority_name,
        ons_code,
        _batch_id,
        _row_number
    from source
),

latest as (
    select
        *,
        row_number() over (
            partition by authority_name_key order by _batch_id desc, _row_number desc
        ) as version_rank
    from keyed
)

select
    authority_name_key,
    authority_name,
    ons_code
from latest
where version_rank = 1
