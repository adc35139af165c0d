"""After a crash: find the batches and runs whose process died, and say so in the ledgers.

A killed loader leaves its batch 'running' in ``audit.load_batches`` (its rows never committed: a batch's
rows and its final ledger row commit together), and a killed pipeline leaves its run 'running' in
``audit.pipeline_runs``. Neither can tell it died, so the next run does: every live batch and run holds
an advisory lock named after itself (``locks.BATCH_ALIVE``, ``locks.RUN_ALIVE``) on its own session,
which PostgreSQL releases the moment that session ends. A 'running' entry whose lock is free is dead:
it becomes 'abandoned', with what happened. This is safe while other runs work: their locks are held.
"""

from __future__ import annotations

from complaints_warehouse.warehouse.database import Connection, connect
from complaints_warehouse.warehouse.locks import BATCH_ALIVE, RUN_ALIVE

ABANDONED_BATCH = (
    "abandoned: its loader stopped before the batch finished (the process was killed or crashed, or "
    "its connection dropped); nothing of it was kept, and a later batch loads the data again"
)


def mark_abandoned(target: Connection, found_by: str) -> list[str]:
    """Mark dead batches and runs abandoned; returns one line per entry marked, for the run's output."""
    # One transaction: a dead entry's lock, tried here, is held only until it commits. The CTEs are
    # materialized so the lock is tried for 'running' entries only, never for the whole ledger.
    with connect(target) as conn:
        batches = conn.execute(
            "with running as materialized (select batch_id from audit.load_batches where status = 'running'), "
            "dead as materialized (select batch_id from running "
            "where pg_try_advisory_xact_lock(hashtextextended(%(prefix)s || batch_id, 0))) "
            "update audit.load_batches b set status = 'abandoned', finished_at = clock_timestamp(), "
            "message = concat_ws('; ', b.message, %(why)s || ' (found by run ' || %(run)s || ')') "
            "from dead where b.batch_id = dead.batch_id and b.status = 'running' "
            "returning b.batch_id, b.source_system, b.table_name, coalesce(b.source_file, '')",
            {"prefix": BATCH_ALIVE, "why": ABANDONED_BATCH, "run": found_by},
        ).fetchall()
        runs = conn.execute(
            # Airflow runs hold no lock between tasks: Airflow marks its own dead tasks failed.
            "with running as materialized (select run_id, case when summary->'finished' ? (summary->>'step') "
            "then 'after step ' else 'during step ' end || coalesce(summary->>'step', 'start') as moment "
            "from audit.pipeline_runs where status = 'running' and driver <> 'airflow'), "
            "dead as materialized (select run_id, moment from running "
            "where pg_try_advisory_xact_lock(hashtextextended(%(prefix)s || run_id, 0))) "
            "update audit.pipeline_runs r set status = 'abandoned', finished_at = clock_timestamp(), "
            "summary = r.summary || jsonb_build_object('abandoned', 'the run''s process ended without "
            "finishing, ' || dead.moment || ' (killed or crashed); found by run ' || %(run)s) "
            "from dead where r.run_id = dead.run_id and r.status = 'running' "
            "returning r.run_id, dead.moment",
            {"prefix": RUN_ALIVE, "run": found_by},
        ).fetchall()
    return [
        f"  batch {batch_id} ({system} {table} {file}) abandoned: its loader died before it finished"
        for batch_id, system, table, file in batches
    ] + [f"  run {run_id} abandoned: its process died {moment}" for run_id, moment in runs]
