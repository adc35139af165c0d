"""One loader per source at a time: PostgreSQL advisory locks, held for the length of a load.

Airflow's ``max_active_runs=1`` keeps one run of a DAG going; these locks also keep a manual CLI run, a
backfill and the scheduled night from loading the same source together, wherever they run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from complaints_warehouse.database import Connection, connect


class SourceBusy(RuntimeError):
    """Another run is loading this source and did not finish within the wait."""


@contextmanager
def source_lock(
    target: Connection, name: str, *, wait_s: float = 600.0, poll_s: float = 1.0
) -> Iterator[None]:
    """Hold the lock called ``name`` (e.g. ``source:rms``), waiting up to ``wait_s`` seconds for it."""
    conn = connect(target, autocommit=True)
    try:
        deadline = time.monotonic() + wait_s
        key = f"complaints_warehouse:{name}"
        while not conn.execute("select pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise SourceBusy(f"Another run is loading {name}; gave up after waiting {wait_s:.0f} s.")
            time.sleep(poll_s)
        yield
    finally:
        conn.close()  # closing the session releases its advisory locks, even after an error
