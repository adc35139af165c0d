{#
    A BMMR period view is exactly its period's rows of bmmr_monthly, once each: every key of one is in the
    other, and no key twice. Its columns are bmmr_monthly's own, tested there; the contract holds their types.
#}
{% test bmmr_period_of_monthly(model, period) %}
    with view_rows as (
        select bmmr_key, count(*) over (partition by bmmr_key) as copies from {{ model }}
    ),

    period_rows as (
        select bmmr_key from {{ ref('bmmr_monthly') }} where period = '{{ period }}'
    )

    select bmmr_key, 'in the view more than once' as problem from view_rows where copies > 1
    union all
    select bmmr_key, 'not in bmmr_monthly''s period' from view_rows
    where bmmr_key not in (select bmmr_key from period_rows)
    union all
    select bmmr_key, 'missing from the view' from period_rows
    where bmmr_key not in (select bmmr_key from view_rows)
{% endtest %}
