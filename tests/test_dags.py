"""The DAGs: they import cleanly, read like the pipeline, stay light to parse, and run to success."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
HEAVY_MODULES = (
    "dbt",
    "great_expectations",
    "pandas",
    "psycopg",
    "psycopg2",
    "complaints_warehouse",
    "ingestion",
)


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "case_system_nightly" in dagbag.dag_ids


def test_nightly_dag_shape(dagbag):
    dag = dagbag.get_dag("case_system_nightly")
    downstream = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert downstream == {
        "prepare": ["load_case_system", "load_ombudsman", "load_reference", "report", "validate"],
        "load_case_system": ["report", "transform"],
        "load_reference": ["load_ombudsman", "report"],
        "load_ombudsman": ["report", "transform"],
        "transform": ["report", "validate"],
        "validate": ["report"],
        "report": [],
    }
    assert (dag.timetable.expression, str(dag.timetable.timezone)) == ("0 2 * * *", "Europe/London")
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert [a.uri for a in dag.get_task("report").outlets] == ["complaints-warehouse://warehouse/marts"]


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_DIR.glob("*.py")))
def test_dag_files_import_nothing_heavy(dag_file):
    """Parsing a DAG file must not import dbt, GX, pandas, a database driver or the pipeline."""
    probe = (
        "import importlib.util, sys, json\n"
        f"spec = importlib.util.spec_from_file_location('dag_probe', {str(DAGS_DIR / dag_file)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_nightly_dag_runs_to_success_with_dag_test(dagbag, settings, warehouse, sql):
    dag = dagbag.get_dag("case_system_nightly")
    run = dag.test()
    assert run.state == "success"
    assert sql("select count(*) from raw_case_system.representations") == [(239,)]
    assert sql("select count(*) from marts.fct_representations") == [(239,)]
    assert sql("select count(*) from marts.fct_ombudsman_annual_statistics") == [(5,)]
    assert sql("select driver, status from audit.pipeline_runs where run_id = %s", (run.run_id,)) == [
        ("airflow", "succeeded")
    ]
    assert sql(
        "select count(*), bool_and(success) from audit.validation_results where run_id = %s", (run.run_id,)
    ) == [(15, True)]
