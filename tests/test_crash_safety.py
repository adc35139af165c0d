"""Crash safety: kill the pipeline (SIGKILL) mid-COPY, mid-dbt-model, mid-publication and at the step
boundaries, then run again: every rerun converges to the marts, the published BMMR and the raw rows of
one clean run, and the ledgers say what happened. Also: a dropped connection during a load is retried,
and a second run while one is in progress exits 4 (or waits) without loading anything twice.

Each scenario runs ``complaints-warehouse run`` as a real process (the bundled sample extract, a real
embedded PostgreSQL, real dbt and Great Expectations) with ``WAREHOUSE_CRASH_AT`` or ``WAREHOUSE_PAUSE_AT``
naming the point (``complaints_warehouse.fault_points``, acted on by ``tools/faults.py``). To keep the file's time down, a kill's rerun is
sometimes itself killed at a later step boundary before the final rerun completes.

"The same" is a fingerprint: an MD5 of every mart table's rows (sorted), the published figures and
versions, and the raw rows' content. Lineage columns that differ between two databases by construction
are compared for what they mean: a ``batch_id`` as the batch's table and content checksum; the snapshot's
``dbt_*`` times, ``loaded_at`` and the facts' ``built_at`` (when, not what) are left out.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from complaints_warehouse.warehouse.database import Connection

pytestmark = pytest.mark.slow

#: ``complaints-warehouse`` with the development tools' fault injection installed (``tools/faults.py``).
CLI = [sys.executable, "-m", "tools.faults"]
ROOT = Path(__file__).resolve().parents[1]
KILLED = -signal.SIGKILL
EXIT_BUSY = 4
TIMEOUT_S = 1200
#: Snapshot columns that say when a version was seen, not what it is.
WHEN_COLUMNS = {"dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "loaded_at", "built_at"}


# --- running the pipeline ---------------------------------------------------------------------------


def _environment(database: str, crash_at: str | None = None, pause_at: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_CRASH_AT", "WAREHOUSE_PAUSE_AT")}
    env["WAREHOUSE_EMBEDDED_DATABASE"] = database
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    if crash_at:
        env["WAREHOUSE_CRASH_AT"] = crash_at
    if pause_at:
        env["WAREHOUSE_PAUSE_AT"] = pause_at
    return env


def run(database: str, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    """``complaints-warehouse run`` (or ``args``) to its end, or to its death at ``crash_at``."""
    return subprocess.run(
        [*CLI, *(args or ("run",))],
        env=_environment(database, crash_at),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def start(
    database: str, log: Path, *args: str, crash_at: str | None = None, pause_at: str | None = None
) -> subprocess.Popen:
    """Start the pipeline (or ``args``) in the background, its output going to ``log``."""
    with log.open("w") as output:
        return subprocess.Popen(
            [*CLI, *(args or ("run",))],
            env=_environment(database, crash_at, pause_at),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for_output(process: subprocess.Popen, log: Path, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while text not in log.read_text():
        assert process.poll() is None, (
            f"ended (exit {process.returncode}) before saying {text!r}:\n{log.read_text()}"
        )
        assert time.monotonic() < deadline, f"never said {text!r}"
        time.sleep(0.2)


def killed_at(database: str, point: str) -> str:
    """Run the pipeline until it kills itself at ``point``; returns its output."""
    result = run(database, crash_at=point)
    assert result.returncode == KILLED, f"not killed at {point}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def completed(database: str) -> str:
    result = run(database)
    assert result.returncode == 0, f"the rerun failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wait_until_stopped(process: subprocess.Popen) -> None:
    """Until the process has stopped itself at its pause point (SIGSTOP)."""
    deadline = time.monotonic() + TIMEOUT_S
    while Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert process.poll() is None, f"ended (exit {process.returncode}) before its pause point"
        assert time.monotonic() < deadline, "never reached its pause point"
        time.sleep(0.2)


def dbt_processes(database: str) -> list[int]:
    """dbt processes working on ``database`` of this session (their environment names both: another
    session, a pytest-xdist worker, has a database of the same name on a server of its own)."""
    ours = {
        f"WAREHOUSE_DBNAME={database}".encode(),
        f"DBT_TARGET_PATH={os.environ['DBT_TARGET_PATH']}".encode(),
    }
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (
                b"dbt" in (proc / "cmdline").read_bytes()
                and ours <= set((proc / "environ").read_bytes().split(b"\0"))
                # Not the worker this test process keeps between its own steps (conftest: it runs no
                # command now); the runs' dbt are their command lines' children.
                and f"PPid:\t{os.getpid()}\n" not in (proc / "status").read_text()
            ):
                found.append(int(proc.name))
        except (OSError, ValueError):  # not a process, gone already, or not ours to read
            continue
    return found


# --- looking at the warehouse ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(embedded_server) -> Connection:
    return Connection.from_url(embedded_server, embedded=True)


def connect(server: Connection, database: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(dataclasses.replace(server, dbname=database).conninfo, **kwargs)


def query(server: Connection, database: str, sql: str, params=None) -> list[tuple]:
    with connect(server, database) as conn:
        return conn.execute(sql, params).fetchall()


def _mart_checksum(conn: psycopg.Connection, table: str) -> tuple[int, str]:
    columns = conn.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = %s order by ordinal_position",
        (table,),
    ).fetchall()
    cells = []
    for (column,) in columns:
        if column in WHEN_COLUMNS:
            continue
        if column == "dbt_valid_to":
            cells.append("(t.dbt_valid_to is null)")
        elif column == "batch_id":
            cells.append(
                "(select concat_ws(':', b.source, b.source_system, b.table_name, b.content_checksum) "
                "from audit.load_batches b where b.batch_id = t.batch_id)"
            )
        else:
            cells.append(f't."{column}"')
    return conn.execute(
        f"select count(*), md5(coalesce(string_agg(r, e'\\n' order by r), '')) "
        f'from (select row({", ".join(cells)})::text as r from marts."{table}" t) s'
    ).fetchone()


def fingerprint(server: Connection, database: str) -> dict:
    """What must be the same after any crash and rerun as after one clean run."""
    with connect(server, database) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            )
        ]
        raw = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema like 'raw\\_%' and table_name not like '%\\_\\_current' order by 1"
        ).fetchall()
        return {
            "marts": {t: _mart_checksum(conn, t) for t in tables},
            "publications": conn.execute(
                "select report_month, version, checksum, figures_count from published.bmmr_publications "
                "order by 1, 2"
            ).fetchall(),
            "published figures": conn.execute(
                "select report_month, version, directorate, procedure_code, period, measure, value "
                "from published.bmmr_figures order by 1, 2, 3, 4, 5, 6"
            ).fetchall(),
            "restatements": conn.execute("select count(*) from published.bmmr_restatements").fetchone(),
            "raw": {
                table: conn.execute(
                    f"select count(*), md5(coalesce(string_agg(_source_system || _is_deleted || "
                    f"coalesce(_row_hash, ''), ',' order by _source_system, _row_hash, _is_deleted), '')) "
                    f"from {table}"
                ).fetchone()
                for (table,) in raw
            },
            "quarantined": conn.execute(
                "select table_name, count(*) from (select table_name from audit.quarantine union all "
                "select table_name from restricted.quarantine) q group by 1 order by 1"
            ).fetchall(),
        }


def assert_converged(server: Connection, database: str, reference: dict, *, parts=None) -> None:
    got = fingerprint(server, database)
    for part in parts or got:
        if part == "marts":
            differ = {
                t: (got["marts"].get(t), reference["marts"].get(t))
                for t in {*got["marts"], *reference["marts"]}
                if got["marts"].get(t) != reference["marts"].get(t)
            }
            assert not differ, f"marts differ from the clean run's (got, clean): {differ}"
        else:
            assert got[part] == reference[part], f"{part} differ from the clean run's"


def leftover_dbt_relations(server: Connection, database: str) -> list[tuple]:
    return query(
        server,
        database,
        "select table_schema, table_name from information_schema.tables "
        "where table_name like '%\\_\\_dbt\\_tmp' or table_name like '%\\_\\_dbt\\_backup'",
    )


def runs(server: Connection, database: str) -> list[tuple[str, str | None]]:
    """The run ledger: each run's status and, for an abandoned run, when it died ("during step load")."""
    return query(
        server,
        database,
        "select status, substring(summary->>'abandoned' from '(?:during|after) step \\w+') "
        "from audit.pipeline_runs order by started_at",
    )


def new_database(label: str) -> str:
    return f"crash_{label}_{uuid.uuid4().hex[:8]}"


def scenario_database(server: Connection) -> str:
    """The tests' one database name (conftest.TEST_DATABASE), dropped first: a scenario that runs dbt
    there reuses the session's last parse of the project instead of parsing it whole."""
    from conftest import TEST_DATABASE, drop_database

    drop_database(server.conninfo, TEST_DATABASE)
    return TEST_DATABASE


@pytest.fixture(scope="module")
def reference(server, sample_night, database_copier) -> dict:
    """One clean run of the whole pipeline: what every crash and rerun must come back to. It is the
    session's ``sample_night`` (``pipeline.run_all`` of the bundled sample, driver "cli": what
    ``complaints-warehouse run`` does), copied, shared with the other modules that start from it."""
    database = new_database("clean")
    database_copier(sample_night.database, database)
    clean = fingerprint(server, database)
    assert clean["marts"] and clean["published figures"], "the clean run built and published nothing"
    return {"database": database, **clean}


def clone(server: Connection, database: str) -> str:
    """A copy of a finished warehouse (PostgreSQL's template copy): a night where all is loaded."""
    copy = scenario_database(server)
    with connect(server, "postgres", autocommit=True) as conn:
        conn.execute(f'create database "{copy}" template "{database}"')
    return copy


# --- the scenarios -----------------------------------------------------------------------------------


def test_killed_mid_copy_the_batch_is_abandoned_and_the_rerun_converges(server, reference):
    database = scenario_database(server)
    # The second COPY of the run (the sample's stages), after its representations committed.
    killed_at(database, "mid-copy#2")
    batches = query(server, database, "select table_name, status from audit.load_batches order by batch_id")
    assert batches == [("representations", "loaded"), ("stages", "running")]
    assert query(server, database, "select count(*) from raw_case_system.stages") == [(0,)]

    # A rerun killed at the first step boundary, then one that completes.
    output = killed_at(database, "after-load")
    assert "batch 2 (sample stages" in output and "abandoned" in output
    completed(database)

    assert_converged(server, database, reference)
    ledger = query(
        server,
        database,
        "select table_name, status, message from audit.load_batches where source = 'case_system' "
        "order by batch_id",
    )
    assert [(t, s) for t, s, _ in ledger] == [
        ("representations", "loaded"),
        ("stages", "abandoned"),
        ("representations", "skipped"),
        ("stages", "loaded"),  # loaded once, by the first rerun
        ("representations", "skipped"),
        ("stages", "skipped"),
    ]
    assert "nothing of it was kept" in ledger[1][2]
    assert runs(server, database) == [
        ("abandoned", "during step load"),
        ("abandoned", "after step load"),
        ("succeeded", None),
    ]


def test_killed_mid_dbt_model_leaves_the_marts_intact_and_the_rerun_converges(server, reference):
    # A night like the next one: everything loaded and built, so the kill lands on marts in use.
    database = clone(server, reference["database"])
    output = killed_at(database, "mid-dbt:fct_complaint_stages")
    # (The fact is incremental: dbt says "START sql incremental model"; a full refresh says "table model".)
    assert re.search(r"START sql \w+ model marts\.fct_complaint_stages", output.rstrip().splitlines()[-1])
    # dbt died with the pipeline (nobody goes on rebuilding beside the rerun) ...
    deadline = time.monotonic() + 60
    while dbt_processes(database) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert dbt_processes(database) == []
    # ... and the model it was building was rolled back: the marts are last night's, whole.
    dbt_sessions = "select count(*) from pg_stat_activity where datname = current_database() and application_name = 'dbt'"
    while query(server, database, dbt_sessions) != [(0,)] and time.monotonic() < deadline:
        time.sleep(0.5)  # the server notices its client is gone when the statement ends, and rolls back
    assert_converged(server, database, reference, parts=["marts", "publications"])

    # A rerun killed at the next step boundaries, then one that completes.
    killed_at(database, "after-transform")
    assert_converged(server, database, reference, parts=["marts"])
    killed_at(database, "after-validate")
    completed(database)

    assert_converged(server, database, reference)
    assert leftover_dbt_relations(server, database) == []
    assert runs(server, database) == [
        ("succeeded", None),  # the clean run the warehouse was copied from
        ("abandoned", "during step transform"),
        ("abandoned", "after step transform"),
        ("abandoned", "after step validate"),
        ("succeeded", None),
    ]


def test_killed_mid_publication_publishes_nothing_and_a_second_run_waits_or_exits(
    server, reference, tmp_path
):
    database = scenario_database(server)
    first = start(database, tmp_path / "first.log", pause_at="mid-publish")
    wait_until_stopped(first)  # inside the publication's transaction, its version written, not its figures

    # A second run exits at once, naming the run in progress, having changed nothing.
    refused = run(database)
    assert refused.returncode == EXIT_BUSY, refused.stdout + refused.stderr
    assert "Another pipeline run is in progress" in refused.stderr
    assert "now at step publish" in refused.stderr and "--wait" in refused.stderr
    batches_before = query(server, database, "select count(*) from audit.load_batches")

    # A third waits for it; it will be killed after publishing, before its report.
    queued_log = tmp_path / "queued.log"
    queued = start(database, queued_log, "run", "--wait", str(TIMEOUT_S), crash_at="after-publish")
    wait_for_output(queued, queued_log, "waiting up to")

    # Kill the first mid-publication; hold the warehouse a moment to look at what it left.
    holder = connect(server, database, autocommit=True)
    taken = threading.Thread(
        target=holder.execute,
        args=("select pg_advisory_lock(hashtextextended('complaints_warehouse:run', 0))",),
    )
    taken.start()
    first.kill()
    first.wait(timeout=60)
    taken.join(timeout=60)
    try:
        assert not taken.is_alive(), "the killed run's lock was not released"
        assert query(server, database, "select count(*) from published.bmmr_publications") == [(0,)]
        assert query(server, database, "select count(*) from published.bmmr_figures") == [(0,)]
        assert query(server, database, "select count(*) from audit.load_batches") == batches_before
    finally:
        holder.close()

    queued.wait(timeout=TIMEOUT_S)
    output = queued_log.read_text()
    assert queued.returncode == KILLED, output
    assert "abandoned: its process died during step publish" in output, output
    assert_converged(server, database, reference, parts=["marts", "publications", "published figures"])
    completed(database)

    assert_converged(server, database, reference)
    assert runs(server, database) == [
        ("abandoned", "during step publish"),
        ("abandoned", "after step publish"),
        ("succeeded", None),
    ]
    # Each file loaded once, by the first run; the others found it loaded.
    assert query(
        server,
        database,
        "select count(*) filter (where status = 'loaded'), count(distinct source_file) "
        "from audit.load_batches",
    ) == query(
        server,
        reference["database"],
        "select count(*) filter (where status = 'loaded'), count(distinct source_file) "
        "from audit.load_batches",
    )


def test_a_dropped_connection_during_a_load_is_retried_and_converges(server, tmp_path):
    database = new_database("dropped")
    log = tmp_path / "load.log"
    loading = start(database, log, "load", "sample", pause_at="mid-copy#2")
    wait_until_stopped(loading)  # streaming the sample's stages into the landing table
    with connect(server, database, autocommit=True) as conn:
        copying = conn.execute(
            "select pid, query from pg_stat_activity where datname = current_database() "
            "and application_name = 'complaints-warehouse loader'"
        ).fetchall()
        assert len(copying) == 1 and copying[0][1].startswith("copy landing"), copying
        conn.execute("select pg_terminate_backend(%s)", (copying[0][0],))
    loading.send_signal(signal.SIGCONT)
    assert loading.wait(timeout=TIMEOUT_S) == 0, log.read_text()

    ledger = query(
        server, database, "select table_name, status, message from audit.load_batches order by batch_id"
    )
    assert [(t, s) for t, s, _ in ledger] == [
        ("representations", "loaded"),
        ("stages", "failed"),
        ("stages", "loaded"),
    ]
    assert "lost the warehouse connection" in ledger[1][2] and "retried" in ledger[1][2]
    # The same raw rows and quarantine as a load that lost nothing.
    clean_load = new_database("load")
    assert run(clean_load, "load", "sample").returncode == 0
    got, clean = fingerprint(server, database), fingerprint(server, clean_load)
    assert got["raw"]["raw_case_system.stages"][0] > 0
    assert (got["raw"], got["quarantined"]) == (clean["raw"], clean["quarantined"])


def test_recovery_marks_only_the_dead_abandoned(warehouse, sql):
    """A batch or run whose holder is alive (its lock held) is left alone, whoever looks; Airflow runs too."""
    from complaints_warehouse import pipeline
    from complaints_warehouse.warehouse import database, locks
    from ingestion.copy_loader import BATCH_ALIVE

    opened = (
        "insert into audit.load_batches (source, table_name) values ('case_system', %s) returning batch_id"
    )
    with database.connect(warehouse, autocommit=True) as loader, locks.run_lock(warehouse, "live"):
        live = loader.execute(  # as the loader opens a batch: its liveness lock held by its session
            opened + ", pg_advisory_lock(hashtextextended(%s || batch_id, 0))", ("stages", BATCH_ALIVE)
        ).fetchone()[0]
        dead = sql(opened, ("representations",))[0][0]
        for run_id, driver in (("live", "cli"), ("dead", "cli"), ("scheduled", "airflow")):
            pipeline.start_run(warehouse, run_id, driver)
        found = pipeline.recover(warehouse, "test", echo=lambda line: None)
        assert len(found) == 2
        assert sql("select batch_id, status from audit.load_batches order by 1") == [
            (live, "running"),
            (dead, "abandoned"),
        ]
        assert sql("select run_id, status from audit.pipeline_runs order by 1") == [
            ("dead", "abandoned"),
            ("live", "running"),
            ("scheduled", "running"),
        ]
