"""The reporting marts a complaints manager reads: the KPI scorecard and the remedies at risk."""

from __future__ import annotations

import pytest

from complaints_warehouse import pipeline, transform

QUIET = {"echo": lambda line: None}
pytestmark = pytest.mark.slow


@pytest.fixture
def built(simulated_case_system, settings, warehouse):
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    transform.build(settings, warehouse, **QUIET)


def test_kpi_scorecard_equals_its_recomputation_from_the_bmmr(built, sql):
    recomputed = sql(
        "select 'stage_1_within_timescale', period, "
        "round(100.0 * sum(stage_1_within_timescale) / nullif(sum(stage_1_responded), 0), 1) "
        "from marts.bmmr_monthly where report_month = '2024-03-01' and period in ('month', 'financial_year_to_date') "
        "group by period order by period"
    )
    scored = sql(
        "select kpi_code, period, actual_pct from marts.kpi_scorecard "
        "where report_month = '2024-03-01' and kpi_code = 'stage_1_within_timescale' order by period"
    )
    assert scored == recomputed and len(scored) == 2
    # Every rating follows the rule: green met, amber within 10 % of the target, red beyond.
    wrong = sql(
        "select * from marts.kpi_scorecard where rag <> case "
        "when actual_pct is null then 'no data' "
        "when (higher_is_better and actual_pct >= target_pct) or (not higher_is_better and actual_pct <= target_pct) then 'green' "
        "when (higher_is_better and actual_pct >= 0.9 * target_pct) or (not higher_is_better and actual_pct <= 1.1 * target_pct) then 'amber' "
        "else 'red' end"
    )
    assert wrong == []
    assert {r[0] for r in sql("select distinct kpi_code from marts.kpi_scorecard")} == {
        r[0] for r in sql("select kpi_code from staging.kpi_targets")
    }


def test_remedies_at_risk_are_exactly_the_open_overdue_or_nearly_due_ones(built, sql):
    expected = sql(
        "with as_of as (select max(received_date) as d from marts.fct_representations) "
        "select remedy_key, case when as_of.d > due_date then 'overdue' else 'at risk' end "
        "from marts.fct_remedies, as_of where not is_completed and due_date is not null "
        "and (as_of.d > due_date or (as_of.d - agreed_date) > 0.75 * (due_date - agreed_date)) order by 1"
    )
    assert sql("select remedy_key, risk_status from marts.remedies_at_risk order by 1") == expected
    assert len(expected) > 0
    completed = sql(
        "select count(*) from marts.remedies_at_risk r join marts.fct_remedies f using (remedy_key) where f.is_completed"
    )
    assert completed == [(0,)]
