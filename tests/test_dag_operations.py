"""Running the DAGs in production: documented, bounded in time, dbt queued in a pool, failures alerted
through Airflow's notifiers and connections, GX pinned to the version its custom expectation was written
for, and bmmr_monthly publishing from the nightly's validation instead of validating again."""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
import tomllib
from datetime import timedelta
from email import message_from_string
from email.policy import default as email_policy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = ROOT / "dags"
CLI = str(Path(sys.executable).with_name("complaints-warehouse"))
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
#: The tasks that run dbt (a build, or the docs the report task writes), by DAG.
DBT_TASKS = {
    "case_system_nightly": {"transform", "report"},
    "ombudsman_open_data": {"transform", "report"},
    "reference_data": {"transform", "report"},
    "bmmr_monthly": {"report"},
    "personal_data_retention": set(),
}


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


# --- doc_md, timeouts, the dbt pool --------------------------------------------------------------


@pytest.mark.parametrize("dag_id", sorted(DBT_TASKS))
def test_every_dag_says_what_it_does_when_it_runs_and_what_to_do_when_it_fails(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.doc_md, dag_id
    for section in ("**Schedule:**", "**When it fails:**", "WAREHOUSE_TASK_TIMEOUT_MINUTES"):
        assert section in dag.doc_md, (dag_id, section)


@pytest.mark.parametrize("dag_id", sorted(DBT_TASKS))
def test_every_dag_run_and_task_has_a_timeout_and_dbt_tasks_queue_for_the_dbt_pool(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.dagrun_timeout == timedelta(hours=8)
    for task in dag.tasks:
        assert task.execution_timeout == timedelta(minutes=180), task.task_id
        expected_pool = "dbt" if task.task_id in DBT_TASKS[dag_id] else "default_pool"
        assert task.pool == expected_pool, task.task_id


def test_the_timeouts_come_from_the_settings_and_a_wrong_one_is_named(airflow_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("WAREHOUSE_TASK_TIMEOUT_MINUTES", "45")
    monkeypatch.setenv("WAREHOUSE_RUN_TIMEOUT_HOURS", "3")
    dag = DagBag(dag_folder=str(DAGS_DIR / "reference_data.py")).get_dag("reference_data")
    assert dag.dagrun_timeout == timedelta(hours=3)
    assert {t.execution_timeout for t in dag.tasks} == {timedelta(minutes=45)}

    monkeypatch.setenv("WAREHOUSE_RUN_TIMEOUT_HOURS", "three")
    errors = DagBag(dag_folder=str(DAGS_DIR / "reference_data.py")).import_errors
    assert len(errors) == 1
    assert "WAREHOUSE_RUN_TIMEOUT_HOURS='three' must be a whole number of hours" in next(
        iter(errors.values())
    )


def test_airflow_run_and_the_compose_init_create_the_dbt_pool_with_one_slot(airflow_db):
    from complaints_warehouse.cli.pipeline import airflow_pool_command

    command = airflow_pool_command(AIRFLOW)
    made = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    assert made.returncode == 0, made.stderr
    listed = subprocess.run(
        [AIRFLOW, "pools", "get", "dbt", "--output", "json"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert listed.returncode == 0, listed.stderr
    pool = json.loads(listed.stdout[listed.stdout.index("[") :])[0]
    assert (pool["pool"], int(pool["slots"])) == ("dbt", 1)
    # The compose stack's airflow-init makes the same pool, through the image's entrypoint.
    init = " ".join(
        yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["airflow-init"]["command"]
    )
    assert f'/entrypoint airflow pools set dbt 1 "{command[-1]}"' in init
    assert init.index("airflow pools set") > init.index("/entrypoint airflow version")  # after the migration


# --- failure alerts through an Airflow notifier and connection -----------------------------------


def _address(line: bytes) -> str:
    text = line.decode()
    return text[text.index("<") + 1 : text.index(">")]


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for a client to hand over one message: a real socket, a real client."""

    def handle(self):
        self.wfile.write(b"220 localhost test SMTP\r\n")
        envelope: dict = {"to": []}
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == "MAIL":
                envelope["from"] = _address(line)
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                envelope["to"].append(_address(line))
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = []
                while (row := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(row.decode())
                envelope["message"] = "".join(data)
                self.server.received.append(envelope)
                envelope = {"to": []}
                self.wfile.write(b"250 OK queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _no_alert_settings(monkeypatch):
    for name in (
        "ALERT_WEBHOOK_URL",
        "ALERT_EMAIL_TO",
        "ALERT_EMAIL_FROM",
        "ALERT_SMTP_HOST",
        "ALERT_SMTP_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_COMPLAINTS_ALERTS", raising=False)


def test_every_task_fails_into_the_warehouse_notifier(dagbag):
    from airflow.sdk import BaseNotifier

    from complaints_warehouse.notifiers import WarehouseFailureNotifier

    for dag_id in DBT_TASKS:
        for task in dagbag.get_dag(dag_id).tasks:
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert any(isinstance(c, WarehouseFailureNotifier) for c in callbacks), (dag_id, task.task_id)
            assert all(isinstance(c, BaseNotifier) for c in callbacks)


def test_a_failed_task_emails_through_the_complaints_alerts_connection(
    dagbag, smtp_server, settings, warehouse, sql, monkeypatch
):
    """A real failure in a real dag.test(): the notifier sends the alert with the SMTP provider through the
    Airflow connection ``complaints_alerts`` (here from the environment, as a secrets backend would give
    it), to a local SMTP server."""
    _no_alert_settings(monkeypatch)
    monkeypatch.setenv("ALERT_EMAIL_TO", "complaints-team@council.example, duty@council.example")
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": smtp_server.server_address[1],
        "extra": {
            "from_email": "airflow@council.example",
            "disable_ssl": True,
            "disable_tls": True,
            "retry_limit": 0,
            "timeout": 10,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_COMPLAINTS_ALERTS", json.dumps(connection))
    monkeypatch.setenv("WAREHOUSE_RETENTION_YEARS", "seven")  # the operator's mistake: the purge fails

    run = dagbag.get_dag("personal_data_retention").test(run_conf={"dry_run": True})

    assert run.state == "failed"
    assert len(smtp_server.received) == 1
    envelope = smtp_server.received[0]
    assert envelope["to"] == ["complaints-team@council.example", "duty@council.example"]
    assert envelope["from"] == "airflow@council.example"
    message = message_from_string(envelope["message"], policy=email_policy)
    assert message["Subject"] == "Complaints warehouse: personal_data_retention.purge failed"
    body = message.get_body(("html",)).get_content()
    assert f"Run {run.run_id}: task purge failed." in body
    assert "WAREHOUSE_RETENTION_YEARS=&#x27;seven&#x27; must be a whole number of years" in body
    assert sql(
        "select status, summary->>'failed_task' from audit.pipeline_runs where run_id = %s", (run.run_id,)
    ) in (
        [],  # the retention DAG opens no run of its own: nothing to mark
        [("failed", "purge")],
    )


def test_the_alert_settings_build_the_connection_when_airflow_has_none(smtp_server, monkeypatch):
    """Without a ``complaints_alerts`` connection the notifier builds it from the settings the command line
    uses (ALERT_SMTP_HOST...), and sends through the SMTP provider."""
    from complaints_warehouse.notifiers import WarehouseFailureNotifier

    _no_alert_settings(monkeypatch)
    monkeypatch.setenv("ALERT_EMAIL_TO", "complaints-team@council.example")
    monkeypatch.setenv("ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ALERT_SMTP_PORT", str(smtp_server.server_address[1]))
    monkeypatch.setattr("complaints_warehouse.orchestration.record_failed_run", lambda *args: None)

    class TaskInstance:
        task_id = "validate"

    notifier = WarehouseFailureNotifier(subject="nightly.validate failed")
    sent = notifier.notify(
        {"task_instance": TaskInstance(), "run_id": "r1", "exception": "3 expectations failed"}
    )
    assert sent == ["email"]
    assert json.loads(os.environ["AIRFLOW_CONN_COMPLAINTS_ALERTS"])["port"] == smtp_server.server_address[1]
    message = message_from_string(smtp_server.received[0]["message"], policy=email_policy)
    assert message["From"] == "complaints-warehouse@localhost"
    assert "3 expectations failed" in message.get_body(("html",)).get_content()


# --- Great Expectations pinned to the minor version of the private API it uses ---------------------


def test_the_pin_refuses_another_gx_minor_version_naming_both():
    from complaints_warehouse.gx_pin import PINNED, UnsupportedGreatExpectations, require_pinned_gx
    from complaints_warehouse.settings import SettingsError

    assert require_pinned_gx().startswith("1.24.")  # what is installed here
    assert require_pinned_gx("1.24.9") == "1.24.9"
    for other in ("1.25.0", "1.23.4", "2.24.0"):
        with pytest.raises(UnsupportedGreatExpectations) as refused:
            require_pinned_gx(other)
        assert f"great_expectations {other} is installed" in str(refused.value)
        assert "great_expectations 1.24.x" in str(refused.value)
    assert issubclass(UnsupportedGreatExpectations, SettingsError)  # CLI exit 2, a failed task in Airflow
    assert PINNED == (1, 24)


def test_the_pyproject_constraint_is_the_pinned_minor_version():
    from packaging.requirements import Requirement

    from complaints_warehouse.gx_pin import PINNED

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (gx,) = [Requirement(d) for d in dependencies if Requirement(d).name == "great-expectations"]
    major, minor = PINNED
    assert gx.specifier.contains(f"{major}.{minor}.0") and gx.specifier.contains(f"{major}.{minor}.99")
    assert not gx.specifier.contains(f"{major}.{minor + 1}.0")
    assert not gx.specifier.contains(f"{major}.{minor - 1}.9")


def test_the_cli_refuses_another_gx_version_with_exit_2_before_touching_the_warehouse(tmp_path, settings):
    """Another great_expectations installed (its metadata first on the path, as a newer install would be):
    ``validate`` exits 2 naming both versions, and never reaches the private API's import."""
    dist = tmp_path / "great_expectations-1.25.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: great_expectations\nVersion: 1.25.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([CLI, "validate"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "great_expectations 1.25.0 is installed" in result.stderr
    assert "great_expectations 1.24.x" in result.stderr
    assert "Traceback" not in result.stderr


# --- bmmr_monthly publishes from the nightly's validation ------------------------------------------


def test_a_validation_is_reused_only_while_the_marts_are_those_it_validated(after_sample_night, sql):
    from complaints_warehouse import orchestration

    night = after_sample_night.summary["validation"]["run_id"]

    def extra(run_id, checkpoint="nightly"):
        return {"validation": {"run_id": run_id, "checkpoint": checkpoint, "checksums": {}}}

    assert orchestration.validation_to_reuse({}, extra(night))[0] == night
    refused = {
        "no event": orchestration.validation_to_reuse({}, None),
        "no validation in it": orchestration.validation_to_reuse({}, {"other": 1}),
        "another checkpoint": orchestration.validation_to_reuse({}, extra(night, "ombudsman")),
        "never validated": orchestration.validation_to_reuse({}, extra("manual__nope")),
    }
    assert all(run_id is None for run_id, _ in refused.values()), refused
    assert "names no validation" in refused["no event"][1]
    assert "checkpoint 'ombudsman'" in refused["another checkpoint"][1]
    assert "recorded no validation results" in refused["never validated"][1]

    # A build since the validation (here: one count of the latest complete month changed).
    from complaints_warehouse import publish
    from complaints_warehouse.warehouse import database

    with database.connect(after_sample_night.target) as conn:
        month = publish.latest_complete_month(conn)
    column = sql(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'bmmr_monthly' and data_type = 'integer' order by ordinal_position limit 1"
    )[0][0]
    sql(
        f"update marts.bmmr_monthly set {column} = coalesce({column}, 0) + 1 "  # noqa: S608 (the catalog's name)
        "where report_month = %s and period = 'month'",
        (month,),
    )
    run_id, why = orchestration.validation_to_reuse({}, extra(night))
    assert run_id is None and "changed after validation run" in why


@pytest.mark.slow
def test_bmmr_monthly_publishes_the_nightly_validation_then_validates_again_when_the_marts_changed(
    dagbag, after_sample_night, settings, warehouse, sql, monkeypatch
):
    _no_alert_settings(monkeypatch)
    nightly = dagbag.get_dag("case_system_nightly").test()
    assert nightly.state == "success"
    validated = dict(
        sql(
            "select to_char(report_month, 'YYYY-MM-DD'), checksum from audit.validated_figures where run_id = %s",
            (nightly.run_id,),
        )
    )
    assert validated

    # The marts asset's event carries the nightly's validation.
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        event = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == "complaints-warehouse://warehouse/marts")
            .order_by(AssetEvent.id.desc())
            .first()
        )
        assert event.source_run_id == nightly.run_id
        assert event.extra == {
            "validation": {"run_id": nightly.run_id, "checkpoint": "nightly", "checksums": validated}
        }

    monthly_dag = dagbag.get_dag("bmmr_monthly")
    monthly = monthly_dag.test()
    assert monthly.state == "success"
    # No checkpoint ran for the monthly run: it published from the nightly's validation.
    assert sql("select count(*) from audit.validation_results where run_id = %s", (monthly.run_id,)) == [(0,)]
    summary = sql("select summary from audit.pipeline_runs where run_id = %s", (monthly.run_id,))[0][0]
    assert summary["validation"]["reused"] is True and summary["validation"]["run_id"] == nightly.run_id
    assert summary["publication"]["status"] in ("unchanged", "published")

    # The marts changed since the nightly validated them (its recorded checksum no longer matches):
    # the monthly runs the checkpoint itself and publishes from that.
    sql(
        "update audit.validated_figures set checksum = 'not these figures' where run_id = %s",
        (nightly.run_id,),
    )
    again = monthly_dag.test()
    assert again.state == "success"
    assert sql("select count(*) > 0 from audit.validation_results where run_id = %s", (again.run_id,)) == [
        (True,)
    ]
    summary = sql("select summary from audit.pipeline_runs where run_id = %s", (again.run_id,))[0][0]
    assert summary["validation"]["reused"] is False
    assert "changed after validation run" in summary["validation"]["reuse_refused"]


def test_a_run_failed_by_its_dagrun_timeout_is_recorded_and_alerted_once(
    dagbag, smtp_server, warehouse, sql, monkeypatch
):
    """The DAG's own failure callback: a run the scheduler timed out (its unfinished tasks skipped, so no
    task's notifier runs) is recorded and emailed; a run a task failed is not alerted a second time."""
    from complaints_warehouse import pipeline

    _no_alert_settings(monkeypatch)
    monkeypatch.setenv("ALERT_EMAIL_TO", "complaints-team@council.example")
    monkeypatch.setenv("ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ALERT_SMTP_PORT", str(smtp_server.server_address[1]))
    dag = dagbag.get_dag("case_system_nightly")
    (callback,) = (
        dag.on_failure_callback if isinstance(dag.on_failure_callback, list) else [dag.on_failure_callback]
    )

    pipeline.start_run(warehouse, "scheduled__task_failed", "airflow")
    callback({"dag": dag, "run_id": "scheduled__task_failed", "reason": "task_failure"})
    assert smtp_server.received == []

    pipeline.start_run(warehouse, "scheduled__too_long", "airflow")
    callback({"dag": dag, "run_id": "scheduled__too_long", "reason": "timed_out"})
    (envelope,) = smtp_server.received
    message = message_from_string(envelope["message"], policy=email_policy)
    assert message["Subject"] == "Complaints warehouse: case_system_nightly run timed out"
    assert "took longer than its dagrun_timeout (8:00:00, WAREHOUSE_RUN_TIMEOUT_HOURS)" in (
        message.get_body(("html",)).get_content()
    )
    assert sql(
        "select run_id, status, summary->>'failed_task' from audit.pipeline_runs where run_id like 'scheduled__%%' "
        "order by run_id"
    ) == [("scheduled__task_failed", "running", None), ("scheduled__too_long", "failed", "the run")]
