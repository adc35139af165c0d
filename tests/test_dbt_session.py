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
    """With ``transform.keep_idle_workers`` (the test suite's conftest), a step's worker is kept for the
    next step of the process instead of starting dbt again; a step whose dbt would read another
    environment gets its own, a kept worker that died is replaced, not used, and at most two are kept."""
    quiet = {"echo": lambda line: None}

    def step() -> int:
        with transform.DbtSession(settings, warehouse) as session:
            assert transform.run_dbt(settings, warehouse, SEED, **quiet, session=session).success
            return session.process.pid

    was = transform.keep_idle_workers(True)
    try:
        pid = step()
        assert _alive(pid), "the worker was ended with its step"
        monkeypatch.setenv("WAREHOUSE_OUTPUTS_DIR", "/elsewhere")  # not read by dbt: the same worker serves
        assert step() == pid
        monkeypatch.setenv("WAREHOUSE_DBT_THREADS", "1")  # read by dbt's profile: another worker
        one_thread = step()
        assert one_thread != pid and _alive(pid) and _alive(one_thread)
        monkeypatch.setenv("WAREHOUSE_DBT_THREADS", "3")  # a third: the least recently kept is ended
        two_threads = step()
        assert not _alive(pid) and _alive(one_thread) and _alive(two_threads)
        os.kill(two_threads, signal.SIGKILL)  # a kept one dies while idle
        while _alive(two_threads):
            time.sleep(0.05)
        assert step() not in (two_threads, one_thread)
        transform.keep_idle_workers(False)  # off (the default): those kept are ended, and so is each step's
        assert not _alive(one_thread)
        last = step()
        assert not _alive(last)
    finally:
        transform.keep_idle_workers(was)  # as conftest left it


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
