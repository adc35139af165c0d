"""The raw tables a contract loads into, and the small index of each key's current version.

A raw table is append-only: every version of a row that a source delivered, with the batch that brought
it, the source system it came from, a hash of its content and a deletion flag (a tombstone row records a
key the source no longer has). ``<table>__current`` keeps, per key, the hash of the latest version: it
lets a load skip rows it already has (an overlap window re-reads them) and find deleted keys.

A case-system raw table is also indexed on the keys the warehouse knows its rows by, written as dbt's
staging models write them (``<source system>:<id>``): the case's key, and a row's own key when it has
one. A nightly build's conditions on these keys pass through the staging views to the raw tables, so
it can look a night's cases up rather than scan the history (PostgreSQL still scans when the keys are
spread over much of a table's pages).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ingestion.contract import TableContract

CASE_SYSTEM = "case_system"
#: The column naming a row's case in the case system's tables.
CASE_COLUMN = "representation_id"

META_COLUMNS = (
    # No foreign key to the ledger: checking one per row would cost a third of the load. The
    # raw_loads_reconcile expectations check every batch against the ledger instead.
    ("_batch_id", "bigint not null"),
    ("_row_number", "bigint"),
    ("_loaded_at", "timestamptz not null default now()"),
    ("_source_system", "text not null default 'file'"),  # loads made before sources had names were files
    ("_row_hash", "text"),
    ("_is_deleted", "boolean not null default false"),
    ("_extra", "jsonb"),
)


def raw_table(contract: TableContract) -> sql.Identifier:
    return sql.Identifier(contract.raw_schema, contract.name)


def current_table(contract: TableContract) -> sql.Identifier:
    return sql.Identifier(contract.raw_schema, f"{contract.name}__current")


def raw_indexes(contract: TableContract) -> list[tuple[sql.Identifier, sql.Composable]]:
    """The raw table's indexes, each (name, what it indexes): the batch, and for a case-system table
    the case key and the row's own single-column key (see the module's docstring)."""
    indexes: list[tuple[sql.Identifier, sql.Composable]] = [
        (sql.Identifier(f"{contract.name}_batch_idx"), sql.SQL("(_batch_id)"))
    ]
    if contract.source != CASE_SYSTEM or contract.personal:
        return indexes
    names = {c.name for c in contract.columns}
    keyed = {"case": CASE_COLUMN if CASE_COLUMN in names else None}
    if len(contract.key) == 1 and contract.key[0] != CASE_COLUMN:
        keyed["key"] = contract.key[0]
    for kind, column in keyed.items():
        if column:
            indexes.append(
                (
                    sql.Identifier(f"{contract.name}_{kind}_idx"),
                    sql.SQL("((_source_system || ':' || {}))").format(sql.Identifier(column)),
                )
            )
    return indexes


def create_raw_indexes(conn: psycopg.Connection, contract: TableContract) -> None:
    for name, indexed in raw_indexes(contract):
        conn.execute(
            sql.SQL("create index if not exists {} on {} {}").format(name, raw_table(contract), indexed)
        )


def drop_raw_indexes(conn: psycopg.Connection, contract: TableContract) -> None:
    """Before the first rows go into an empty raw table: its indexes are built once after, sorted."""
    for name, _ in raw_indexes(contract):
        conn.execute(sql.SQL("drop index if exists {}.{}").format(sql.Identifier(contract.raw_schema), name))


def ensure_raw_table(conn: psycopg.Connection, contract: TableContract) -> None:
    """Create the raw and current-version tables; add any column the contract has gained since."""
    table = raw_table(contract)
    conn.execute(sql.SQL("create table if not exists {} (_batch_id bigint)").format(table))
    for name, definition in (*META_COLUMNS, *contract.stored_columns()):
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                table, sql.Identifier(name), sql.SQL(definition)
            )
        )
    # Tombstones have no row number; tables made by the first releases said not null.
    conn.execute(sql.SQL("alter table {} alter column _row_number drop not null").format(table))
    create_raw_indexes(conn, contract)
    conn.execute(sql.SQL("comment on table {} is {}").format(table, sql.Literal(contract.description)))

    key_columns = sql.SQL(", ").join(
        sql.SQL("{} text not null").format(sql.Identifier(k)) for k in contract.stored_key
    )
    held = conn.execute(
        "select array_agg(attname::text) from pg_attribute where attrelid = to_regclass(%s) "
        "and attnum > 0 and not attisdropped",
        (current_table(contract).as_string(conn),),
    ).fetchone()[0]
    if held and not set(contract.stored_key) <= set(held):
        # The contract's key changed (e.g. Ombudsman figures keyed by the resolved authority, not the
        # name as spelled): the index of current versions is rebuilt. It is only an index of the raw
        # table, so nothing is lost; the next load appends each row it delivers once more.
        conn.execute(sql.SQL("drop table {}").format(current_table(contract)))
    conn.execute(
        sql.SQL(
            "create table if not exists {} (_source_system text not null, {}, _row_hash text not null, "
            "_batch_id bigint not null, _is_deleted boolean not null default false, primary key ({}))"
        ).format(
            current_table(contract),
            key_columns,
            sql.SQL(", ").join(sql.Identifier(k) for k in ("_source_system", *contract.stored_key)),
        )
    )


def ensure_all(conn: psycopg.Connection, contracts: list[TableContract]) -> None:
    """Every contract's raw table, so that dbt's sources exist before a source has delivered them."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.raw_tables'))")
        for contract in contracts:
            ensure_raw_table(conn, contract)
