"""The metrics are defined once (dbt's semantic layer over the BMMR's own columns, with a time spine), the
calendar has its fiscal columns, money is pounds and pence, and the status-history snapshot explains its
columns in PostgreSQL's own comments (docs/bi.md)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from complaints_warehouse import transform
from complaints_warehouse.reports import bmmr_pack

PROJECT = "complaints_warehouse"
#: The metrics a BI team is offered: received, closed, within timescale, escalation and uphold rates,
#: remedies and payments (counts and GBP).
METRICS = {
    "representations_received",
    "complaints_received",
    "representations_closed",
    "complaints_closed",
    *(f"stage_{s}_{m}" for s in range(4) for m in ("responded", "within_timescale")),
    *(f"stage_{s}_within_timescale_rate" for s in range(4)),
    "stage_2_escalations",
    "escalation_rate",
    "outcome_upheld",
    "outcomes_recorded",
    "uphold_rate",
    "ombudsman_decisions",
    "ombudsman_upheld",
    "ombudsman_uphold_rate",
    "financial_remedies",
    "financial_remedies_gbp",
    "payments",
    "payments_gbp",
}
#: The semantic layer's ratio metrics and the BMMR pack's rates (bmmr_pack.RATES) they must equal.
RATIOS_OF_THE_PACK = {
    **{f"stage_{s}_within_timescale_rate": f"stage_{s}_within_timescale_pct" for s in range(4)},
    "escalation_rate": "escalation_rate_pct",
    "uphold_rate": "upheld_pct",
}
MONEY = {
    "fct_payments": ["amount_gbp"],
    "fct_remedies": ["amount_gbp"],
    "fct_complaint_stages": ["investigation_cost_gbp"],
    "remedies_at_risk": ["amount_gbp"],
    "bmmr_monthly": ["financial_remedies_gbp", "payments_gbp"],
    "bmmr_month": ["financial_remedies_gbp", "payments_gbp"],
    "bmmr_financial_year_to_date": ["financial_remedies_gbp", "payments_gbp"],
    "bmmr_same_month_last_year": ["financial_remedies_gbp", "payments_gbp"],
}


@pytest.fixture(scope="module")
def manifest(dbt_manifest) -> dict:
    """dbt's manifest of the project as it is (``dbt parse``, once per session: conftest)."""
    return dbt_manifest


def _metric(manifest: dict, name: str) -> dict:
    return manifest["metrics"][f"metric.{PROJECT}.{name}"]


def test_the_semantic_layer_defines_the_bmmr_metrics_as_the_reports_compute_them(manifest):
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    assert set(metrics) >= METRICS, sorted(METRICS - set(metrics))

    (model,) = [m for m in manifest["semantic_models"].values() if m["name"] == "bmmr"]
    assert model["depends_on"]["nodes"] == [f"model.{PROJECT}.bmmr_month"]
    assert model["defaults"]["agg_time_dimension"] == "report_month"
    measures = {m["name"]: m for m in model["measures"]}
    # Every count and sum of money bmmr_month holds is a measure summing that very column.
    bmmr_month = manifest["nodes"][f"model.{PROJECT}.bmmr_month"]["columns"]
    figures = [c for c, col in bmmr_month.items() if col["data_type"] in ("int", "numeric(12,2)")]
    assert len(figures) == len(bmmr_pack.COUNTS) + len(bmmr_pack.AMOUNTS)
    for column in figures:
        assert (measures[column]["agg"], measures[column]["expr"]) == ("sum", column)
    # The uphold rate's denominator is every recorded outcome, as the pack counts it.
    assert measures["outcomes_recorded"]["agg"] == "sum"
    assert measures["outcomes_recorded"]["expr"] == " + ".join(bmmr_pack.OUTCOMES)

    for name in METRICS:
        metric = metrics[name]
        if metric["type"] == "simple":
            assert metric["type_params"]["measure"]["name"] == name
    for name, rate in RATIOS_OF_THE_PACK.items():
        params = _metric(manifest, name)["type_params"]
        assert _metric(manifest, name)["type"] == "ratio"
        assert (params["numerator"]["name"], params["denominator"]["name"]) == bmmr_pack.RATES[rate], name

    # The KPI scorecard's Ombudsman uphold rate (kpi_targets.csv) is the same ratio.
    targets_csv = Path(transform.__file__).resolve().parents[1] / "dbt_project" / "seeds" / "kpi_targets.csv"
    targets = {row["kpi_code"]: row for row in csv.DictReader(targets_csv.open())}
    params = _metric(manifest, "ombudsman_uphold_rate")["type_params"]
    ombudsman = targets["ombudsman_upheld"]
    assert (params["numerator"]["name"], params["denominator"]["name"]) == (
        ombudsman["numerator"],
        ombudsman["denominator"],
    )
    escalation = targets["escalation_stage_1_to_2"]
    assert bmmr_pack.RATES["escalation_rate_pct"] == (escalation["numerator"], escalation["denominator"])


def test_the_time_spine_is_declared_on_the_calendar(manifest):
    spine = manifest["nodes"][f"model.{PROJECT}.time_spine_daily"]
    assert spine["time_spine"]["standard_granularity_column"] == "date_day"
    assert spine["columns"]["date_day"]["granularity"] == "day"
    assert {g["name"] for g in spine["time_spine"]["custom_granularities"]} == {
        "fiscal_year",
        "fiscal_quarter",
    }
    assert f"model.{PROJECT}.dim_date" in spine["depends_on"]["nodes"]

    dim_date = manifest["nodes"][f"model.{PROJECT}.dim_date"]
    assert dim_date["config"]["contract"]["enforced"]
    declared = {name: col["data_type"] for name, col in dim_date["columns"].items()}
    assert {
        k: declared.get(k) for k in ("fiscal_month_number", "month_start", "month_label", "day_name")
    } == {
        "fiscal_month_number": "int",
        "month_start": "date",
        "month_label": "text",
        "day_name": "text",
    }
    assert all(dim_date["columns"][k]["description"] for k in declared)


def test_the_built_warehouse_has_the_spine_fiscal_calendar_money_and_snapshot_comments(
    after_sample_night, sql
):
    # The night with money as numeric(12,2) built, passed its expectations and published.
    assert sql("select status from audit.pipeline_runs") == [("succeeded",)]

    # The time spine is built: every calendar day, with its financial year and quarter.
    assert sql("select count(*) from marts.time_spine_daily") == sql("select count(*) from marts.dim_date")
    assert sql(
        "select date_day, financial_year, financial_quarter from marts.time_spine_daily "
        "where date_day in ('2024-04-01', '2025-03-31') order by 1"
    ) == [(date(2024, 4, 1), "2024/25", "2024/25 Q1"), (date(2025, 3, 31), "2024/25", "2024/25 Q4")]

    # dim_date's fiscal month (April = 1), month start, sortable month label and day name.
    assert sql(
        "select date_day, fiscal_month_number, month_start, month_label, day_name from marts.dim_date "
        "where date_day in ('2024-04-01', '2024-12-25', '2025-03-15') order by 1"
    ) == [
        (date(2024, 4, 1), 1, date(2024, 4, 1), "2024-04", "Monday"),
        (date(2024, 12, 25), 9, date(2024, 12, 1), "2024-12", "Wednesday"),
        (date(2025, 3, 15), 12, date(2025, 3, 1), "2025-03", "Saturday"),
    ]

    # Money is pounds and pence, numeric(12,2), wherever a mart holds it.
    types = {
        (table, column): (precision, scale)
        for table, column, precision, scale in sql(
            "select table_name, column_name, numeric_precision, numeric_scale from information_schema.columns "
            "where table_schema = 'marts' and table_name = any(%s)",
            (list(MONEY),),
        )
    }
    money = {(table, column) for table, columns in MONEY.items() for column in columns}
    assert {key: types.get(key) for key in money} == dict.fromkeys(money, (12, 2))
    assert sql("select count(*) > 0 from marts.fct_complaint_stages where investigation_cost_gbp > 0") == [
        (True,)
    ]

    # The snapshot's table and every column carry their descriptions as PostgreSQL comments.
    comments = dict(
        sql(
            "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
            "where a.attrelid = 'marts.representation_status_history'::regclass and a.attnum > 0 "
            "and not a.attisdropped"
        )
    )
    assert comments and not [name for name, text in comments.items() if not text], comments
    assert comments["dbt_valid_to"].startswith("When the version ended")
    assert sql("select obj_description('marts.representation_status_history'::regclass, 'pg_class')")[0][0]
