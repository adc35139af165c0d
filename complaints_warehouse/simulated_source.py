"""The demo's case system: the simulator, in its own database on the warehouse's server."""

from __future__ import annotations

import contextlib
from datetime import date

import psycopg
from psycopg import sql

from case_system_simulator import CaseSystemSimulator
from complaints_warehouse.warehouse.database import Connection, connect

DATABASE = "case_system_simulator"


def simulator(target: Connection, database: str = DATABASE) -> CaseSystemSimulator:
    """The simulator in ``database`` beside the warehouse, creating the (empty) database if needed."""
    with connect(target, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone():
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # made by a concurrent command
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    return CaseSystemSimulator(target.other_database(database).conninfo)


def ensure(
    target: Connection,
    *,
    councils: int = 1,
    start: date = date(2023, 4, 1),
    until: date = date(2024, 3, 31),
    seed: int = 42,
    replace: bool = False,
) -> tuple[CaseSystemSimulator, dict | None]:
    """Create the simulated system unless it exists (or ``replace``); returns it and what was created."""
    sim = simulator(target)
    if sim.exists() and not replace:
        return sim, None
    return sim, sim.create(councils_count=councils, start=start, until=until, seed=seed)
