"""The walking skeleton end to end, all real: COPY -> raw -> dbt build -> GX checkpoint -> Data Docs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from complaints_warehouse import pipeline, validate
from complaints_warehouse.warehouse import database

# The bundled sample: 240 representations (one closes before it was received), 212 stages (one with an
# unknown outcome code, one responded before it opened), 5 council-years of Ombudsman statistics,
# 6 published decisions (one under an authority name the reference data does not know), 3 cases of the
# council's case-by-case spreadsheets; reference data: every English council since 2009 (365), their
# 1,454 spellings and 3,884 ONS mid-year populations, mid-2018 to mid-2024 with their editions
# (ingestion/reference/data/SOURCES.md).
EXPECTED_RAW = {
    "raw_case_system.representations": 239,
    "raw_case_system.stages": 210,
    "raw_reference.authorities": 365,
    "raw_reference.authority_names": 1454,
    "raw_reference.population": 3884,
    "raw_ombudsman.annual_statistics": 5,
    "raw_ombudsman.decisions": 5,
    "raw_ombudsman.council_cases": 3,
}
EXPECTED_QUARANTINE = {"representations": 1, "stages": 2, "decisions": 1}
EXPECTATIONS = 37
MARTS = ("fct_representations", "fct_ombudsman_annual_statistics", "fct_ombudsman_decisions", "dim_authority")

pytestmark = pytest.mark.slow


@pytest.fixture
def first_run(after_sample_night):
    """The bundled sample's first run (``pipeline.run_all`` on an empty warehouse, done once per session
    by the ``sample_night`` fixture): this test's own copy of its warehouse and outputs, and its summary."""
    return after_sample_night.summary


def test_whole_run_loads_builds_and_validates(first_run, settings, sql):
    for table, rows in EXPECTED_RAW.items():
        assert sql(f"select count(*) from {table}") == [(rows,)], table
    assert dict(sql("select table_name, count(*) from audit.quarantine group by 1")) == EXPECTED_QUARANTINE

    assert sql("select count(*) from staging.stg_case_system__representations") == [(239,)]
    assert sql("select count(*) from staging.stg_case_system__stages") == [(210,)]
    assert sql("select count(*) from staging.stg_ombudsman__annual_statistics") == [(5,)]
    assert sql("select count(*) from marts.fct_representations") == [(239,)]
    assert sql("select count(*) from marts.dim_service_area") == [(8,)]
    # Every stage of a case in the fact is counted once in its stage_count.
    assert sql("select sum(stage_count) from marts.fct_representations") == sql(
        "select count(*) from staging.stg_case_system__stages s "
        "where exists (select 1 from marts.fct_representations f where f.representation_id = s.representation_id)"
    )

    validation = first_run["validation"]
    assert validation["success"] is True
    assert validation["evaluated"] == validation["passed"] == EXPECTATIONS
    assert sql(
        "select count(*), bool_and(success) from audit.validation_results where run_id = %s",
        (first_run["run_id"],),
    ) == [(EXPECTATIONS, True)]
    assert Path(validation["data_docs"]).is_file()
    assert first_run["transform"]["success"] is True and not first_run["transform"]["failures"]
    # The validated run published its latest complete month, once.
    assert first_run["publication"]["status"] == "published" and first_run["publication"]["version"] == 1
    assert sql("select validation_run_id from published.bmmr_publications") == [(first_run["run_id"],)]

    assert sql("select status from audit.pipeline_runs where run_id = %s", (first_run["run_id"],)) == [
        ("succeeded",)
    ]
    written = json.loads((settings.outputs_dir / "last-run.json").read_text())
    assert written["run_id"] == first_run["run_id"]
    # The dbt docs site is one of the outputs: every mart documented, in one self-contained page.
    docs = Path(written["outputs"]["dbt_docs"]).read_text()
    assert "fct_complaint_stages" in docs and "bmmr_monthly" in docs
    assert "Run " in pipeline.one_line(
        written
    ) and f"{EXPECTATIONS}/{EXPECTATIONS} expectations passed" in pipeline.one_line(written)


def test_rerun_loads_nothing_new_and_changes_no_mart(first_run, settings, sql, capsys):
    def fingerprints():
        return {
            mart: sql(f"select md5(string_agg(f::text, '|' order by f::text)) from marts.{mart} f")
            for mart in MARTS
        }

    before = fingerprints()
    second = pipeline.run_all(settings, echo=lambda line: None)
    assert {b["status"] for b in second["loads"]} == {"skipped"}
    for table, rows in EXPECTED_RAW.items():
        assert sql(f"select count(*) from {table}") == [(rows,)], table
    assert fingerprints() == before
    # GX's own notice for a check that reads beyond its batch (printed each time a suite loads) is not
    # passed on to the run's output; the step's own lines are.
    from complaints_warehouse.validate import GX_BATCH_NOTICE

    capsys.readouterr()
    pipeline.step_validate(settings, database.resolve(settings), "quiet", echo=print)
    out = capsys.readouterr().out
    assert GX_BATCH_NOTICE not in out and f"{EXPECTATIONS} of {EXPECTATIONS} expectations passed" in out


def test_published_rate_that_disagrees_with_its_counts_fails_only_the_ombudsman_gate(
    first_run, settings, warehouse, sql
):
    from complaints_warehouse import publish

    sql(
        "update raw_ombudsman.annual_statistics set uphold_rate_pct = 50 "
        "where authority_name = 'Oxfordshire County Council'"
    )
    # The nightly checkpoint: recorded and flagged, the Ombudsman benchmark's gate fails, the BMMR's does not.
    summary = pipeline.step_validate(settings, warehouse, "broken-rate", echo=lambda line: None)
    assert summary["ombudsman_gate"] == "failed" and summary["failed"] == []
    assert "Oxfordshire County Council" in str(summary["ombudsman_failed"])
    failed_rows = sql(
        "select suite, expectation from audit.validation_results where run_id = 'broken-rate' and not success"
    )
    assert failed_rows == [
        (
            "ombudsman_statistics",
            "The published uphold rate equals upheld / detailed investigations, rounded to whole percent",
        )
    ]
    with database.connect(warehouse) as conn:
        assert publish.failed_validation(conn, "broken-rate") is None
    # The Ombudsman's own checkpoint (its DAG) still fails on it.
    with pytest.raises(validate.ValidationFailed) as failed:
        pipeline.step_validate(
            settings, warehouse, "broken-rate-2", checkpoint="ombudsman", echo=lambda line: None
        )
    assert "The published uphold rate equals upheld / detailed investigations" in str(failed.value)


def test_the_committed_expectations_are_what_define_py_writes(first_run, warehouse, tmp_path):
    """expectations/gx is generated by expectations/define.py: the two must not drift apart."""
    import importlib.util

    project = Path(__file__).resolve().parents[1] / "expectations"
    spec = importlib.util.spec_from_file_location("define_expectations", project / "define.py")
    define = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = define  # dataclasses look their module up while the file executes
    spec.loader.exec_module(define)
    shutil.copytree(project / "gx", tmp_path / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    define.write_context(warehouse, tmp_path)

    def suites(root: Path) -> dict:
        return {
            p.name: [(e["type"], e["kwargs"]) for e in json.loads(p.read_text())["expectations"]]
            for p in sorted((root / "gx" / "expectations").glob("*.json"))
        }

    assert suites(tmp_path) == suites(project)
    assert len(suites(project)) == 9
