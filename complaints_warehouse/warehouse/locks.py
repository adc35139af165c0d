"""Who may work on the warehouse at once: PostgreSQL advisory locks, each held by a session.

* one pipeline run at a time (``run_lock``): a second ``complaints-warehouse run`` waits (``--wait``) or
  stops at once with a message naming the run in progress;
* one loader per source (``source_lock``): Airflow's ``max_active_runs=1`` keeps one run of a DAG going;
  these also keep a manual CLI run, a backfill and the scheduled night from loading a source together;
* one dbt at a time (``dbt_lock``): two would replace the same relations and share dbt's ``target/``;
* one changer or reader-for-publication of the marts at a time (``marts_lock``): ``transform`` (dbt build),
  ``validate`` and ``publish`` each hold it, and a pipeline run holds it from its transform through its
  publication, so no build can slip between the validation of the marts and their publication. (Load
  changes only the raw schemas; it does not wait.) It is re-entrant within a process.

A session lock is released when its connection closes, so a killed process never leaves one behind. The
same property tells a dead run or batch from a live one: each holds a lock named after itself while it
works (``RUN_ALIVE``, ``copy_loader.BATCH_ALIVE``), and ``recovery`` marks as abandoned those whose lock is free.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg

from complaints_warehouse.errors import Busy
from complaints_warehouse.warehouse.database import Connection, connect

#: A batch's loader holds the advisory lock named this plus the batch id while the batch is open, so a
#: 'running' batch whose lock is free has lost its loader (see ``recovery``); ``ingestion.copy_loader`` takes it.
BATCH_ALIVE = "complaints_warehouse:load_batch:"
#: A run holds the lock named this plus its run id while it runs (batches: ``BATCH_ALIVE``).
RUN_ALIVE = "complaints_warehouse:run:"


class WarehouseBusy(Busy, RuntimeError):
    """Someone else holds what this command needs (the CLI exits 4): nothing was changed."""


class SourceBusy(WarehouseBusy):
    """Another run is loading this source and did not finish within the wait."""


class DbtBusy(WarehouseBusy):
    """Another dbt command is running against the warehouse and did not finish within the wait."""


class RunInProgress(WarehouseBusy):
    """Another pipeline run holds the warehouse; this one changed nothing."""


class MartsBusy(WarehouseBusy):
    """Another command is building, validating or publishing the marts and did not finish within the wait."""


#: The marts locks this process holds (by database): a step called inside a run that holds it goes on.
_HELD: ContextVar[frozenset[tuple]] = ContextVar("complaints_warehouse_marts_locks", default=frozenset())
#: How long transform, validate and publish wait for the marts by default (a night's build, at most).
MARTS_WAIT_S = 3600.0


@contextmanager
def advisory_lock(
    target: Connection,
    name: str,
    *,
    wait_s: float,
    busy: Callable[[], Exception],
    poll_s: float = 1.0,
    waiting: Callable[[], None] | None = None,
) -> Iterator[psycopg.Connection]:
    """Hold the lock ``name`` on a session of its own, waiting up to ``wait_s`` seconds for it; raise
    ``busy()`` after that. ``waiting`` is called once if the lock is taken when asked for."""
    conn = connect(target, autocommit=True, purpose="lock")
    try:
        deadline = time.monotonic() + wait_s
        key = f"complaints_warehouse:{name}"
        while not conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise busy()
            if waiting:
                waiting()
                waiting = None
            time.sleep(poll_s)
        yield conn
    finally:
        conn.close()  # closing the session releases its advisory locks, even after an error


@contextmanager
def source_lock(
    target: Connection, name: str, *, wait_s: float = 600.0, poll_s: float = 1.0
) -> Iterator[None]:
    """Hold the lock called ``name`` (e.g. ``source:rms``), waiting up to ``wait_s`` seconds for it."""
    busy = SourceBusy(f"Another run is loading {name}; gave up after waiting {wait_s:.0f} s.")
    with advisory_lock(target, name, wait_s=wait_s, poll_s=poll_s, busy=lambda: busy):
        yield


@contextmanager
def dbt_lock(target: Connection, *, wait_s: float = 3600.0) -> Iterator[None]:
    """One dbt command at a time against this warehouse (a DAG's build and a manual one, say)."""
    busy = DbtBusy(f"Another dbt command is running against this warehouse; gave up after {wait_s:.0f} s.")
    with advisory_lock(target, "dbt", wait_s=wait_s, busy=lambda: busy):
        yield


@contextmanager
def marts_lock(
    target: Connection,
    *,
    wait_s: float | None = None,
    purpose: str = "",
    echo: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's marts: no other transform, validate or publish runs until this is left.
    Re-entrant: inside a block that holds it (a pipeline run), a step's own request goes straight on."""
    key = (target.host, target.port, target.dbname)
    if key in _HELD.get():
        yield
        return
    wait_s = MARTS_WAIT_S if wait_s is None else wait_s

    def busy() -> Exception:
        return MartsBusy(
            f"Another command is building, validating or publishing the marts ({_describe_marts_holder(target)})"
            f"; {purpose or 'this command'} stopped without changing anything"
            f"{f' after waiting {wait_s:.0f} s' if wait_s else ''}. Let it finish, or use --wait SECONDS."
        )

    def waiting() -> None:
        if echo:
            echo(f"The marts are in use ({_describe_marts_holder(target)}); waiting up to {wait_s:.0f} s.")

    with advisory_lock(target, "marts", wait_s=wait_s, busy=busy, waiting=waiting) as conn:
        conn.execute(
            "select set_config('application_name', %s, false)", (f"complaints-warehouse marts {purpose}",)
        )
        token = _HELD.set(_HELD.get() | {key})
        try:
            yield
        finally:
            _HELD.reset(token)


def _describe_marts_holder(target: Connection) -> str:
    """Who holds the marts: the holding session's application name (``complaints-warehouse marts <what>``)."""
    try:
        with connect(target) as conn:
            row = conn.execute(
                "select a.application_name from pg_locks l join pg_stat_activity a using (pid) "
                "where l.locktype = 'advisory' and l.granted and l.database = "
                "(select oid from pg_database where datname = current_database()) "
                "and ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0) limit 1",
                ("complaints_warehouse:marts",),
            ).fetchone()
    except Exception:  # only a description: never fail for it
        return "held by another session"
    if not row or not row[0]:
        return "held by another session"
    return f"held by {row[0].removeprefix('complaints-warehouse marts ').strip() or 'another session'}"


@contextmanager
def run_lock(
    target: Connection, run_id: str, *, wait_s: float = 0.0, echo: Callable[[str], None] = print
) -> Iterator[None]:
    """Hold the warehouse for the pipeline run ``run_id``, and mark the run alive while it does.

    Another run in progress: wait up to ``wait_s`` seconds (saying so), then raise ``RunInProgress``."""

    def busy() -> Exception:
        return RunInProgress(
            f"Another pipeline run is in progress ({_describe_holder(target)}); this run stopped "
            f"without changing anything{f' after waiting {wait_s:.0f} s' if wait_s else ''}. "
            "Let it finish, or run again with --wait SECONDS to queue behind it."
        )

    def waiting() -> None:
        echo(
            f"Another pipeline run is in progress ({_describe_holder(target)}); waiting up to {wait_s:.0f} s."
        )

    with advisory_lock(target, "run", wait_s=wait_s, busy=busy, waiting=waiting) as conn:
        conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (RUN_ALIVE + run_id,))
        yield


def _describe_holder(target: Connection) -> str:
    """The run holding the warehouse, as the run ledger knows it: a running run whose liveness lock is
    held (trying it here takes it only for this transaction, and only from a dead run)."""
    with connect(target) as conn:
        if conn.execute("select to_regclass('audit.pipeline_runs') is null").fetchone()[0]:
            return "it is just starting"
        row = conn.execute(
            "with running as materialized (select * from audit.pipeline_runs "
            "where status = 'running' and driver <> 'airflow') "
            "select run_id, to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), summary->>'step' from running "
            "where not pg_try_advisory_xact_lock(hashtextextended(%(prefix)s || run_id, 0)) "
            "order by started_at desc limit 1",
            {"prefix": RUN_ALIVE},
        ).fetchone()
    if row is None:
        return "it is just starting"
    run_id, started, step = row
    return f"run {run_id}, started {started}" + (f", now at step {step}" if step else "")
