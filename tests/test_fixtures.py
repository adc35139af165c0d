"""The test suite's own machinery: a night built once and copied per test gives each test a warehouse of
its own (tests/conftest.py, docs/developing.md), and WAREHOUSE_DOCS switches the documentation sites."""

from __future__ import annotations

import uuid

import pytest

from complaints_warehouse.settings import SettingsError, load_settings
from complaints_warehouse.warehouse import database


def test_a_copy_of_a_night_is_the_tests_own(
    after_sample_night, sample_night, night_copier, sql, monkeypatch, tmp_path
):
    # The copy is the night: the sample's facts, its run succeeded, its summary and outputs beside it.
    assert sql("select count(*) from marts.fct_representations") == [(239,)]
    assert sql("select run_id, status from audit.pipeline_runs") == [
        (after_sample_night.summary["run_id"], "succeeded")
    ]
    assert (after_sample_night.settings.outputs_dir / "last-run.json").is_file()
    # What a test does to its copy stays in its copy: the template, and so the next copy, is untouched.
    sql("delete from marts.fct_representations")
    monkeypatch.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("WAREHOUSE_OUTPUTS_DIR", str(tmp_path / "second"))
    second = night_copier(sample_night, load_settings(), monkeypatch, tmp_path)
    with database.connect(second.target) as conn:
        assert conn.execute("select count(*) from marts.fct_representations").fetchone() == (239,)
    assert sql("select count(*) from marts.fct_representations") == [(0,)]


def test_a_copy_of_the_simulated_night_has_its_own_case_system(after_simulated_night, simulated_night, sql):
    import psycopg

    from case_system_simulator import truth

    with psycopg.connect(after_simulated_night.source.conninfo) as conn:
        assert conn.info.dbname not in (simulated_night.source, "case_system_simulator")
        cases = truth.case_count(conn)
    assert sql("select count(*) from marts.fct_representations") == [(cases,)] and cases > 0


def test_the_documentation_sites_are_a_yes_no_setting_on_by_default(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_DOCS", raising=False)
    assert load_settings().write_docs is True
    monkeypatch.setenv("WAREHOUSE_DOCS", "0")
    assert load_settings().write_docs is False
    monkeypatch.setenv("WAREHOUSE_DOCS", "sometimes")
    with pytest.raises(SettingsError, match="WAREHOUSE_DOCS='sometimes' is not a yes/no value"):
        load_settings()
