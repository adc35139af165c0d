"""What an adversarial read of the redesign found, pinned: each test fails without its fix.

- publication and the monthly DAG trust only the audit records of a validation, never an asset event's word;
- the BMMR pack refuses reporting views that do not add up to the published cells;
- a broken council template, a wrong GX project folder and a wrong timeout are settings errors, not tracebacks;
- the report's data block escapes every "<".
"""

from __future__ import annotations

import json

import pytest

from complaints_warehouse import publish
from complaints_warehouse.reports import ReportUnavailable, bmmr_pack, page
from complaints_warehouse.settings import SettingsError, airflow_timeouts, load_settings
from complaints_warehouse.warehouse import database


def _record(sql, run_id: str, checkpoint: str, suite: str, success: bool = True) -> None:
    sql(
        "insert into audit.validation_results (run_id, checkpoint, suite, expectation, success) "
        "values (%s, %s, %s, 'expect_something', %s)",
        (run_id, checkpoint, suite, success),
    )


def test_a_run_that_never_ran_the_nightly_checkpoint_cannot_publish(warehouse, sql, settings):
    _record(sql, "ombudsman-only", "ombudsman", "ombudsman_statistics")
    _record(sql, "nightly-run", "nightly", "bmmr_totals")
    with database.connect(warehouse) as conn:
        refusal = publish.failed_validation(conn, "ombudsman-only")
        assert refusal and "did not run the 'nightly' checkpoint" in refusal
        assert publish.failed_validation(conn, "nightly-run") is None


@pytest.mark.slow
def test_the_pack_refuses_a_reporting_view_that_is_not_the_published_figures(
    after_sample_night, settings, sql
):
    target = after_sample_night.target
    assert bmmr_pack.write(settings, target)  # as built: the views add up to the published cells
    sql("create table marts.rpt_bmmr_pack_figures_real as select * from marts.rpt_bmmr_pack_figures")
    sql("grant select on marts.rpt_bmmr_pack_figures_real to public")  # the view's owner reads it
    columns = [
        c
        for (c,) in sql(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'rpt_bmmr_pack_figures' order by ordinal_position"
        )
    ]
    doctored = ", ".join(
        "complaints_received + 1 as complaints_received" if c == "complaints_received" else c for c in columns
    )
    sql(
        f"create or replace view marts.rpt_bmmr_pack_figures as select {doctored} from marts.rpt_bmmr_pack_figures_real"
    )
    with pytest.raises(ReportUnavailable, match="does not add up to the published figures"):
        bmmr_pack.write(settings, target)


def test_a_broken_council_template_is_a_settings_error_naming_it(tmp_path):
    (tmp_path / "report.html.j2").write_text("<html>{{ title }}{{ no_such_value }}</html>\n")
    page.environment.cache_clear()
    with pytest.raises(SettingsError, match="report template .*report.html.j2.*cannot be rendered"):
        page.render_template(
            "report.html.j2",
            tmp_path,
            title="t",
            kicker="k",
            lede="l",
            public=False,
            body="",
            footer=[],
            data={},
        )
    page.environment.cache_clear()


def test_the_data_block_escapes_every_angle_bracket():
    inner = page.data_json({"directorate": "<!--<script>x</script>"})
    assert "<" not in inner
    assert json.loads(inner) == {"directorate": "<!--<script>x</script>"}


@pytest.mark.parametrize("value", ["²", "0", "100000000000", "three"])
def test_a_wrong_timeout_is_a_settings_error(monkeypatch, value):
    monkeypatch.setenv("WAREHOUSE_RUN_TIMEOUT_HOURS", value)
    with pytest.raises(SettingsError, match="WAREHOUSE_RUN_TIMEOUT_HOURS=.* must be a whole number of hours"):
        airflow_timeouts()


def test_a_folder_without_the_gx_project_is_a_settings_error(tmp_path, monkeypatch, warehouse):
    from complaints_warehouse import validate

    monkeypatch.setenv("WAREHOUSE_EXPECTATIONS_DIR", str(tmp_path))
    with pytest.raises(SettingsError, match="holds no Great Expectations project"):
        validate.run_checkpoint(load_settings(), warehouse, "r1")
    assert not (tmp_path / "gx").exists()  # GX made no empty project there


def test_tables_without_planner_statistics_are_analyzed_before_anything_reads_them(warehouse, sql):
    """The loads and dbt's tables analyze what they write; the rest (snapshot, seeds, publication and audit
    tables) would be planned on a guess until autovacuum came by."""
    sql("insert into audit.pipeline_runs (run_id, driver, status) values ('r1', 'cli', 'running')")
    assert sql("select reltuples from pg_class where oid = 'audit.pipeline_runs'::regclass") == [(-1,)]
    analyzed = database.analyze_unanalyzed(warehouse)
    assert "audit.pipeline_runs" in analyzed and all(not n.startswith("pg_") for n in analyzed)
    assert sql("select reltuples from pg_class where oid = 'audit.pipeline_runs'::regclass") == [(1,)]


@pytest.mark.parametrize("name", ["WAREHOUSE_RETENTION_YEARS", "WAREHOUSE_SUPPRESSION_THRESHOLD"])
def test_every_whole_number_setting_refuses_a_digit_that_is_not_ascii(monkeypatch, name):
    """One parser for every whole-number setting: "²" is a digit to str.isdigit but not to int()."""
    monkeypatch.setenv(name, "²")
    with pytest.raises(SettingsError, match=f"{name}='²' must be a whole number"):
        load_settings().retention_years() if name == "WAREHOUSE_RETENTION_YEARS" else load_settings()
