"""After a crash: find the runs (and, with ``ingestion.ledger``, the batches) whose process died, and say so.

A killed loader leaves its batch 'running' in ``audit.load_batches`` (its rows never committed: a batch's
rows and its final ledger row commit together), and a killed pipeline leaves its run 'running' in
``audit.pipeline_runs``. Neither can tell it died, so the next run does: every live batch and run holds
an advisory lock named after itself (``locks.BATCH_ALIVE``, ``locks.RUN_ALIVE``) on its own session,
which PostgreSQL releases the moment that session ends. A 'running' entry whose lock is free is dead:
it becomes 'abandoned', with what happened. This is safe while other runs work: their locks are held.
"""

from __future__ import annotations

import psycopg

from complaints_warehouse.warehouse.locks import RUN_ALIVE


def mark_abandoned_runs(conn: psycopg.Connection, found_by: str) -> list[str]:
    """Mark 'abandoned' every 'running' pipeline run whose lock (``RUN_ALIVE``) is free: its process died.
    Returns one line per run marked. The batches a dead loader left are ``ingestion.ledger``'s
    (``mark_abandoned_batches``); ``pipeline.recover`` calls both in one transaction (a dead entry's lock,
    tried here, is held only until it commits)."""
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
    return [f"  run {run_id} abandoned: its process died {moment}" for run_id, moment in runs]
