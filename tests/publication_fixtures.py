"""One simulated council built once for the session by a real ``complaints-warehouse run`` (dbt, GX),
paused between its validation and its publication so that other commands can be tried against it then;
each test gets its own copy of the finished warehouse (PostgreSQL's template copy), which is cheap.

Imported by tests/test_publication_integrity.py and tests/test_known_issues.py: a session-scoped
fixture imported into two modules is built once."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from complaints_warehouse import pipeline
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.database import Connection

PROJECT_DIR = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("complaints-warehouse"))
#: The command line with the development tools' fault injection installed (``tools/faults.py``).
FAULTS_CLI = [sys.executable, "-m", "tools.faults"]
TIMEOUT_S = 1200
LATEST_MONTH = date(2024, 3, 1)
QUIET = {"echo": lambda line: None}


@dataclasses.dataclass
class Built:
    """The finished warehouse (a template for copies) and what happened while its run was paused."""

    database: str
    sources: Path
    run_id: str
    run: subprocess.CompletedProcess
    transform_meanwhile: subprocess.CompletedProcess
    publish_meanwhile: subprocess.CompletedProcess


def environment(database_name: str, sources: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_CRASH_AT", "WAREHOUSE_PAUSE_AT")}
    env.update(WAREHOUSE_EMBEDDED_DATABASE=database_name, WAREHOUSE_SOURCES=str(sources), **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(PROJECT_DIR), os.environ.get("PYTHONPATH"))))
    return env


def cli(database_name: str, sources: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args],
        env=environment(database_name, sources),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def _wait_until_stopped(process: subprocess.Popen) -> None:
    """Until the process has stopped itself at its pause point (SIGSTOP)."""
    deadline = time.monotonic() + TIMEOUT_S
    while Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert process.poll() is None, f"ended (exit {process.returncode}) before its pause point"
        assert time.monotonic() < deadline, "never reached its pause point"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def built(embedded_server, simulated_source_template, tmp_path_factory) -> Built:
    from conftest import analyze, copy_database, source_config

    name = f"test_pubint_{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_EMBEDDED_DATABASE", name)
        from complaints_warehouse.settings import load_settings

        pipeline.prepare(load_settings())
    # The simulated council as created (one council, 2023/24, seed 7): a copy of the session's template.
    source_db = f"sim_{uuid.uuid4().hex[:10]}"
    copy_database(embedded_server, simulated_source_template, source_db)
    sources = source_config(tmp_path_factory.mktemp("sources"), source_db)

    log = tmp_path_factory.mktemp("run") / "run.log"
    with log.open("w") as output:
        run = subprocess.Popen(
            [*FAULTS_CLI, "run"],
            env=environment(name, sources, WAREHOUSE_PAUSE_AT="after-validate"),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_stopped(run)
        # The run has validated and not yet published: a build and a publication now must not slip in.
        transform = cli(name, sources, "transform", "--wait", "0")
        publish = cli(name, sources, "publish", "--wait", "0")
    finally:
        run.send_signal(signal.SIGCONT)
    run.wait(timeout=TIMEOUT_S)
    finished = subprocess.CompletedProcess(run.args, run.returncode, log.read_text(), "")
    assert run.returncode == 0, f"the run failed:\n{finished.stdout[-5000:]}"
    analyze(embedded_server, name)  # a template: its copies keep its statistics (conftest.analyze)
    with psycopg.connect(server(embedded_server, name).conninfo) as conn:
        run_id = conn.execute(
            "select run_id from audit.pipeline_runs where driver = 'cli' and status = 'succeeded'"
        ).fetchone()[0]
    return Built(name, sources, run_id, finished, transform, publish)


def server(embedded_server: str, name: str = "postgres") -> Connection:
    return dataclasses.replace(Connection.from_url(embedded_server, embedded=True), dbname=name)


@dataclasses.dataclass
class Copy:
    """A test's own copy of the built warehouse: its settings, target and name."""

    settings: object
    target: Connection
    database: str
    sources: Path

    def sql(self, query: str, params=None):
        with database.connect(self.target) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else None

    def as_owner_bypassing_triggers(self, *statements: str) -> None:
        """What the issue's attacker does: the owner switches triggers off for the session and edits."""
        with database.connect(self.target) as conn:
            conn.execute("set session_replication_role = replica")
            for statement in statements:
                conn.execute(statement)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return cli(self.database, self.sources, *args)


@pytest.fixture
def copy(built, embedded_server, monkeypatch, tmp_path) -> Copy:
    """A copy of the built warehouse for this test; settings point at it (and outputs at tmp_path)."""
    from conftest import TEST_DATABASE, copy_database

    name = TEST_DATABASE  # one name for every test's database: dbt's parse is reused (conftest)
    copy_database(embedded_server, built.database, name)
    monkeypatch.setenv("WAREHOUSE_EMBEDDED_DATABASE", name)
    monkeypatch.setenv("WAREHOUSE_SOURCES", str(built.sources))
    monkeypatch.setenv("WAREHOUSE_OUTPUTS_DIR", str(tmp_path / "outputs"))
    from complaints_warehouse.settings import load_settings

    settings = load_settings()
    return Copy(settings, pipeline.prepare(settings), name, built.sources)
