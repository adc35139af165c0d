"""The reporting marts a complaints manager reads: the KPI scorecard and the remedies at risk."""

from __future__ import annotations

import pytest
from conftest import use_sources

from complaints_warehouse import pipeline, transform

QUIET = {"echo": lambda line: None}
pytestmark = pytest.mark.slow


@pytest.fixture
def built(after_simulated_night, warehouse):
    """The simulated council loaded and built (with the reference and Ombudsman samples, validated and
    published: the session's ``simulated_night``, copied)."""


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


def test_ombudsman_reconciliation_sorts_every_reference(simulated_case_system, settings, warehouse, sql):
    import psycopg

    # The council's own records: one that agrees with the Ombudsman's spreadsheet (the bundled sample),
    # one whose decision differs, one whose decision date differs.
    with psycopg.connect(simulated_case_system.conninfo) as conn:
        conn.execute(
            "insert into rms.lgsco_cases values "
            "('22 001 239', null, '2022-04-20', '2023-03-15', 'UPH', '2023-04-26', '2023-05-10', now()), "
            "('23 001 447', null, '2023-05-10', '2023-11-02', 'UPH', null, null, now()), "
            "('23 011 003', null, '2023-09-01', '2024-01-13', 'UPH', '2024-02-23', '2024-02-20', now())"
        )
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    pipeline.step_load(settings, warehouse, "reference", **QUIET)
    pipeline.step_load(settings, warehouse, "ombudsman", **QUIET)
    transform.build(settings, warehouse, **QUIET)
    statuses = dict(
        sql(
            "select ombudsman_reference, reconciliation_status from marts.ombudsman_reconciliation "
            "where ombudsman_reference in ('22 001 239', '23 001 447', '23 011 003')"
        )
    )
    assert statuses == {
        "22 001 239": "matched",
        "23 001 447": "decision differs",
        "23 011 003": "date differs",
    }
    ours = sql("select count(*) from staging.stg_case_system__ombudsman_cases")[0][0]
    counted = dict(
        sql("select reconciliation_status, count(*) from marts.ombudsman_reconciliation group by 1")
    )
    assert counted["only ours"] == ours - 3
    assert sql(
        "select their_decision from marts.ombudsman_reconciliation where ombudsman_reference = '23 001 447'"
    ) == [("not_upheld",)]


def test_ombudsman_benchmark_puts_each_council_beside_similar_authorities(settings, warehouse, sql):
    pipeline.step_load(settings, warehouse, "reference", **QUIET)
    pipeline.step_load(settings, warehouse, "ombudsman", **QUIET)
    transform.build(settings, warehouse, **QUIET)
    rows = sql(
        "select measure, council_value, similar_authority_value, comparison from marts.ombudsman_benchmark "
        "where authority_name = 'Oxfordshire County Council' and financial_year = '2023/24' order by measure"
    )
    assert [(m, float(c), float(s) if s is not None else None, v) for m, c, s, v in rows] == [
        ("compliance_rate_pct", 100.0, None, None),
        ("satisfactory_remedy_rate_pct", 9.0, 7.0, "better"),
        ("upheld_per_100k", 4.6, 4.5, "worse"),
        ("uphold_rate_pct", 92.0, 85.0, "worse"),
    ]
    assert sql(
        "select council_value from marts.ombudsman_benchmark where authority_name = 'Oxford City Council' "
        "and financial_year = '2019/20' and measure = 'uphold_rate_pct'"
    ) == [(None,)]


def test_annual_report_tables_add_up_and_compare_with_last_year(
    settings, warehouse, sql, tmp_path, monkeypatch
):
    import uuid
    from datetime import date
    from pathlib import Path

    from complaints_warehouse import simulated_source

    database = f"sim_{uuid.uuid4().hex[:10]}"
    simulated_source.simulator(warehouse, database).create(
        start=date(2022, 4, 1), until=date(2024, 3, 31), seed=3
    )
    mapping = (
        Path(__file__).resolve().parents[1] / "ingestion" / "sources" / "case_system_simulator.yml"
    ).read_text()
    config = tmp_path / "two_years.yml"
    config.write_text(
        mapping.replace("warehouse-server:case_system_simulator", f"warehouse-server:{database}")
    )
    use_sources(settings, monkeypatch, config)
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    transform.build(settings, warehouse, **QUIET)

    def cell(year, section, category, procedure="corporate"):
        rows = sql(
            "select cell_value, previous_year_value from marts.annual_report where financial_year = %s "
            "and procedure_code = %s and section = %s and category = %s",
            (year, procedure, section, category),
        )
        return rows[0] if rows else None

    received = sql(
        "select count(*) from marts.fct_representations where representation_type = 'complaint' "
        "and procedure_code = 'corporate' and received_date between '2023-04-01' and '2024-03-31'"
    )[0][0]
    last_year = sql(
        "select count(*) from marts.fct_representations where representation_type = 'complaint' "
        "and procedure_code = 'corporate' and received_date between '2022-04-01' and '2023-03-31'"
    )[0][0]
    assert cell("2023/24", "1 representations received", "complaint") == (received, last_year)
    # Every stage answered in the year falls in exactly one timescale band.
    answered = sql(
        "select count(*) from marts.fct_complaint_stages where procedure_code = 'corporate' and stage_number <= 3 "
        "and responded_date between '2023-04-01' and '2024-03-31'"
    )[0][0]
    banded = sql(
        "select sum(cell_value) from marts.annual_report where financial_year = '2023/24' "
        "and procedure_code = 'corporate' and section = '4 timescale bands'"
    )[0][0]
    assert banded == answered > 0
    paid = sql(
        "select coalesce(sum(amount_gbp), 0) from marts.fct_payments where procedure_code = 'corporate' "
        "and payment_date between '2023-04-01' and '2024-03-31'"
    )[0][0]
    assert cell("2023/24", "9 payments", "GBP paid")[0] == paid


def test_case_status_history_keeps_every_change_night_by_night(
    after_simulated_night, settings, warehouse, sql
):
    # The first night: the session's simulated_night (loaded and built), copied with its case system.
    simulated_case_system = after_simulated_night.source
    first = sql("select count(*) from marts.representation_status_history")[0][0]
    simulated_case_system.advance(3)
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    transform.build(settings, warehouse, **QUIET)
    # One current version per case, and the cases that moved on have their earlier version closed off.
    assert sql("select count(*) from marts.representation_status_history where dbt_valid_to is null") == sql(
        "select count(*) from staging.stg_case_system__representations"
    )
    changed = sql(
        "select count(distinct representation_key) from marts.representation_status_history "
        "where dbt_valid_to is not null"
    )[0][0]
    assert changed > 0
    assert sql("select count(*) from marts.representation_status_history")[0][0] > first
