{#
    A BMMR period view: one period's rows of bmmr_monthly with the columns its contract lists (the counts
    and sums, no percentage; see _complaints__bmmr_periods.yml, where the list is written once).
#}
{% macro bmmr_period_view(period) %}
    select
        {{ model.columns.keys() | join(',\n        ') if execute else 'bmmr_key' }}
    from {{ ref('bmmr_monthly') }}
    where period = '{{ period }}'
{% endmacro %}
