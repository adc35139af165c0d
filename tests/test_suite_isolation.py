"""A test session writes nothing of its runs into the project folder: dbt's artifacts (its ``target/``:
manifest, partial-parse state, run results, logs) and Great Expectations' validation results and Data
Docs go to the session's own folder. So a developer's own ``target/`` and Data Docs are left alone, and
sessions side by side (``pytest -n 2``: one session, folder and embedded server per worker) never read
each other's run results."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import PROJECT_DIR, SESSION_DIR

from complaints_warehouse import transform
from complaints_warehouse.settings import load_settings


def test_dbt_reads_its_results_where_dbt_writes_them(monkeypatch):
    settings = load_settings()
    assert transform.target_dir(settings) == SESSION_DIR / "dbt-target"
    # dbt reads a relative DBT_TARGET_PATH from its project folder; so does the pipeline.
    monkeypatch.setenv("DBT_TARGET_PATH", "elsewhere")
    assert transform.target_dir(settings) == PROJECT_DIR / "dbt_project" / "elsewhere"
    monkeypatch.delenv("DBT_TARGET_PATH")
    assert transform.target_dir(settings) == PROJECT_DIR / "dbt_project" / "target"
    env = transform.dbt_environment(settings, transform.Connection.from_url("postgresql://h/db"))
    assert env["DBT_LOG_PATH"] == str(PROJECT_DIR / "dbt_project" / "target" / "logs")


def test_great_expectations_writes_in_the_sessions_copy_of_its_context(monkeypatch):
    settings = load_settings()
    assert settings.expectations_dir == SESSION_DIR / "expectations"
    assert settings.data_docs_dir.is_relative_to(SESSION_DIR)
    # The copy has the project's suites and checkpoints, and nothing an earlier run wrote.
    project_gx, session_gx = PROJECT_DIR / "expectations" / "gx", SESSION_DIR / "expectations" / "gx"
    for committed in ("great_expectations.yml", "checkpoints/nightly.json"):
        assert (session_gx / committed).read_text() == (project_gx / committed).read_text()
    monkeypatch.delenv("WAREHOUSE_EXPECTATIONS_DIR")
    assert load_settings().expectations_dir == PROJECT_DIR / "expectations"


def test_a_night_writes_its_dbt_results_and_data_docs_in_the_session_folder(sample_night):
    """``sample_night`` (the session's one run with its documentation sites) left its dbt results and its
    Data Docs in the session's folder."""
    settings = load_settings()
    assert (transform.target_dir(settings) / "run_results.json").exists()
    assert (transform.target_dir(settings) / "partial_parse.msgpack").exists()
    assert (settings.data_docs_dir / "index.html").exists()
    validations = SESSION_DIR / "expectations" / "gx" / "uncommitted" / "validations"
    assert any(path.is_file() for path in validations.rglob("*.json"))
    assert os.environ["DBT_TARGET_PATH"].startswith(str(SESSION_DIR))
    assert Path(sample_night.summary["outputs"]["data_docs"]).is_relative_to(SESSION_DIR)
