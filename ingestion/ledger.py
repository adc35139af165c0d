"""The loader's ledger beyond a batch's own row: the sources' high-water marks, a batch given up for a
retry, and batches whose loader died. ``ingestion`` owns every write to ``audit.load_batches`` and
``audit.source_watermarks``: here and in ``copy_loader`` (a batch's own row, ``_open_batch`` / ``_finish``,
and a refused extract, ``record_refusal``). The pipeline calls these; it writes no ledger SQL itself."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from complaints_warehouse.warehouse.locks import BATCH_ALIVE
from ingestion.contract import TableContract
from ingestion.raw_tables import raw_table

ABANDONED_BATCH = (
    "abandoned: its loader stopped before the batch finished (the process was killed or crashed, or "
    "its connection dropped); nothing of it was kept, and a later batch loads the data again"
)


def high_water_mark(conn: psycopg.Connection, source_system: str, table_name: str) -> datetime | None:
    """The newest ``updated_at`` loaded from the source's table, or None before its first load."""
    mark = conn.execute(
        "select high_water_mark from audit.source_watermarks where source_system = %s and table_name = %s",
        (source_system, table_name),
    ).fetchone()
    return mark[0] if mark else None


def advance_watermark(
    conn: psycopg.Connection, source_system: str, table: TableContract, batch_id: int
) -> None:
    """Move the table's high-water mark to the newest updated_at this batch appended (never backwards).
    Called inside the batch's transaction (``copy_loader.load_extract(advance_watermark=True)``): a batch
    that does not commit leaves the mark where it was, and the next load reads that window again."""
    conn.execute(
        sql.SQL(
            "insert into audit.source_watermarks (source_system, table_name, high_water_mark, batch_id) "
            "select %(system)s, %(table)s, max(updated_at), %(batch)s from {raw} "
            "where _batch_id = %(batch)s and not _is_deleted having max(updated_at) is not null "
            "on conflict (source_system, table_name) do update set "
            "high_water_mark = greatest(audit.source_watermarks.high_water_mark, excluded.high_water_mark), "
            "batch_id = excluded.batch_id, updated_at = clock_timestamp()"
        ).format(raw=raw_table(table)),
        {"system": source_system, "table": table.name, "batch": batch_id},
    )


def mark_retried(conn: psycopg.Connection, batch_id: int, message: str) -> None:
    """A batch whose connection dropped is 'failed', saying it is loaded again on a new connection."""
    conn.execute(
        "update audit.load_batches set status = 'failed', finished_at = clock_timestamp(), "
        "message = %s where batch_id = %s and status = 'running'",
        (message, batch_id),
    )


def mark_abandoned_batches(conn: psycopg.Connection, found_by: str) -> list[str]:
    """Mark 'abandoned' every 'running' batch whose liveness lock (``BATCH_ALIVE``) is free: its loader
    died. Returns one line per batch marked. The CTEs are materialized so the lock is tried for 'running'
    batches only, never for the whole ledger; a lock tried here is held until ``conn``'s transaction ends."""
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
    return [
        f"  batch {batch_id} ({system} {table} {file}) abandoned: its loader died before it finished"
        for batch_id, system, table, file in batches
    ]


def count_purged(deleted: str, batch: str, ledger_column: str) -> sql.Composed:
    """A statement for retention: ``deleted`` (a DELETE ... RETURNING the batch id as ``batch``), each batch's rows added to its
    ledger row's ``ledger_column``: the ledger keeps reconciling with what the tables hold (the
    raw_loads_reconcile expectations). Returns the rows deleted."""
    return sql.SQL(
        "with gone as ({deleted}), per_batch as (select {batch} as batch_id, count(*) as n from gone group by 1), "
        "counted as (update audit.load_batches b set {column} = b.{column} + p.n "
        "from per_batch p where b.batch_id = p.batch_id returning 1) "
        "select coalesce(sum(n), 0)::bigint from per_batch"
    ).format(deleted=sql.SQL(deleted), batch=sql.Identifier(batch), column=sql.Identifier(ledger_column))
