"""One dbt process for a step's commands (``transform.DbtSession``, ``complaints_warehouse.dbt_worker``):
a command left unfinished is stopped before its locks are let go, a worker that dies is a failed command
(never a hang), and the parse is reused only for the options it was made with."""

from __future__ import annotations

import os
import signal
import time

import pytest

from complaints_warehouse import dbt_worker, transform
from complaints_warehouse import settings as settings_module

#: A command that writes run results (``dbt ls`` writes none) and is quick on an empty warehouse.
SEED = ["seed", "--select", "kpi_targets"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_command_left_unfinished_is_stopped_inside_its_lock(settings, warehouse, sql):
    session = transform.DbtSession(settings, warehouse)
    seen = {}

    def echo(line):
        # The worker is running the command, and run_dbt holds the warehouse's dbt lock.
        seen["pid"] = session.process.pid
        seen["locks"] = sql("select count(*) from pg_locks where locktype = 'advisory' and granted")[0][0]
        raise KeyboardInterrupt  # as an operator's Ctrl-C, or Airflow's timeout, would

    with session:
        with pytest.raises(KeyboardInterrupt):
            transform.run_dbt(settings, warehouse, SEED, echo=echo, session=session)
        # Stopped by run_dbt itself (before its lock was let go), not by the session's end.
        assert session.process is None and not session.busy
        assert not _alive(seen["pid"]), "the worker outlived the command it was stopped in"
    assert seen["locks"] >= 1


def test_a_worker_that_dies_mid_command_is_a_failed_command_not_a_hang(settings, warehouse):
    with transform.DbtSession(settings, warehouse) as session:
        killed = []

        def echo(line):
            if not killed:
                killed.append(session.process.pid)
                os.kill(session.process.pid, signal.SIGKILL)  # the OOM killer, say

        result = transform.run_dbt(settings, warehouse, SEED, echo=echo, session=session)
        assert not result.success
        assert result.failures == [
            "dbt wrote no run results (it failed before running anything: see its output)"
        ]
        # The session starts a new worker for its next command.
        again = transform.run_dbt(settings, warehouse, SEED, echo=lambda line: None, session=session)
        assert again.success and session.process.pid != killed[0]


def test_the_parse_is_keyed_on_the_options_that_change_it():
    assert dbt_worker.parse_options(
        ["build", "--vars", '{"a": 1}', "--select", "x", "--project-dir", "p"]
    ) == [
        "--vars",
        '{"a": 1}',
        "--project-dir",
        "p",
    ]
    assert dbt_worker.parse_options(["build", '--vars={"a": 1}', "--project-dir=p"]) == [
        '--vars={"a": 1}',
        "--project-dir=p",
    ]
    assert dbt_worker.parse_options(["build", "--select", "x"]) == []


def test_dbt_threads_default_to_the_cpus_at_most_eight(monkeypatch):
    monkeypatch.delenv(settings_module.DBT_THREADS_SETTING, raising=False)
    monkeypatch.setattr(settings_module, "machine_cpus", lambda: 2)
    assert settings_module.dbt_threads() == 2
    monkeypatch.setattr(settings_module, "machine_cpus", lambda: 96)
    assert settings_module.dbt_threads() == settings_module.DBT_THREADS_DEFAULT_MOST == 8
    monkeypatch.setenv(settings_module.DBT_THREADS_SETTING, "16")
    assert settings_module.dbt_threads() == 16


def test_a_kept_worker_serves_the_next_step_only_when_its_dbt_would_read_the_same(
    settings, warehouse, monkeypatch
):
    """With WAREHOUSE_DBT_KEEP_WORKERS (the test suite), a step's worker is kept for the next step of the
    process instead of starting dbt again; a step whose dbt would read another environment gets its own,
    and a kept worker that died is replaced, not used."""
    monkeypatch.setenv("WAREHOUSE_DBT_KEEP_WORKERS", "1")
    quiet = {"echo": lambda line: None}
    with transform.DbtSession(settings, warehouse) as first:
        assert transform.run_dbt(settings, warehouse, SEED, **quiet, session=first).success
        pid = first.process.pid
    assert _alive(pid), "the worker was ended with its step"
    monkeypatch.setenv("WAREHOUSE_OUTPUTS_DIR", "/elsewhere")  # not read by dbt: the same worker serves
    with transform.DbtSession(settings, warehouse) as second:
        assert transform.run_dbt(settings, warehouse, SEED, **quiet, session=second).success
        assert second.process.pid == pid
    monkeypatch.setenv("WAREHOUSE_DBT_THREADS", "1")  # read by dbt's profile: another worker
    with transform.DbtSession(settings, warehouse) as third:
        assert transform.run_dbt(settings, warehouse, SEED, **quiet, session=third).success
        assert third.process.pid != pid
    monkeypatch.delenv("WAREHOUSE_DBT_THREADS")
    os.kill(pid, signal.SIGKILL)  # the kept one dies while idle
    while _alive(pid):
        time.sleep(0.05)
    with transform.DbtSession(settings, warehouse) as fourth:
        assert transform.run_dbt(settings, warehouse, SEED, **quiet, session=fourth).success
        assert fourth.process.pid != pid
    monkeypatch.delenv("WAREHOUSE_DBT_KEEP_WORKERS")  # off (the default): the step's worker ends with it
    with transform.DbtSession(settings, warehouse) as fifth:
        assert transform.run_dbt(settings, warehouse, SEED, **quiet, session=fifth).success
        last = fifth.process.pid
    assert not _alive(last)


def test_the_kept_workers_key_covers_every_variable_the_dbt_project_reads():
    import re

    project = settings_module.PROJECT_DIR / "dbt_project"
    read = {
        name
        for path in [*project.rglob("*.sql"), *project.rglob("*.yml")]
        if "target" not in path.relative_to(project).parts[:1]
        for name in re.findall(r"env_var\(\s*['\"](\w+)", path.read_text())
    }
    assert {"WAREHOUSE_DBNAME", "OMBUDSMAN_POPULATION_MID_YEAR"} <= read
    assert [name for name in sorted(read) if not transform.dbt_reads(name)] == []
    assert not transform.dbt_reads("WAREHOUSE_OUTPUTS_DIR") and not transform.dbt_reads("PYTEST_CURRENT_TEST")
