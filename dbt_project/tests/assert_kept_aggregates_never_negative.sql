-- The aggregates kept up to date from the facts (macro fact_changes) never count below nothing: a group
-- with fewer events or cells than none, or a negative count, is a change subtracted twice or never added.
-- Their readers leave out groups with none, so this is where such drift shows. Small tables, read whole.
-- sqlfluff cannot follow the indentation of the Jinja loop below:
-- noqa: disable=LT02
select
    'int_bmmr__fact_counts' as aggregate,
    group_key as group_key
from {{ ref('int_bmmr__fact_counts') }}
where
    events < 0
    {%- for measure, event, condition in bmmr_event_measures() if event != 'ombudsman_decision' %}
    or {{ measure }} < 0
    {%- endfor %}

union all

select
    'int_annual_report__fact_cells' as aggregate,
    cell_key as group_key
from {{ ref('int_annual_report__fact_cells') }}
where cells < 0 or (section <> '9 payments' and cell_value < 0)
