"""The raw tables a contract loads into, and the small index of each key's current version.

A raw table is append-only: every version of a row that a source delivered, with the batch that brought
it, the source system it came from, a hash of its content and a deletion flag (a tombstone row records a
key the source no longer has). ``<table>__current`` keeps, per key, the hash of the current version: it
lets a load skip rows it already has (an overlap window re-reads them) and find deleted keys.

Which version is current: the one with the latest source time (``updated_at``, for a table that has
one), then the latest batch, then the last row of the batch -- never simply the latest batch, so a late,
older export does not overwrite newer data. A tombstone has no time of its own: it is stored with the
time of the version it deletes (``updated_at`` of the current version when the deletion was seen), so
it beats that version and every older one, and a row that re-appears with a newer ``updated_at`` is
current again. The dbt staging models (macro ``latest_versions``) order versions the same way.

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
#: The column naming a case's id in the system this one replaced (a migration).
LEGACY_COLUMN = "legacy_representation_id"
#: The column naming a case's service area (looked up against the sources' service area lists).
SERVICE_AREA_COLUMN = "service_area_code"

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
    the case key, the row's own single-column key (see the module's docstring), the rows naming a
    legacy case and the service areas the cases name."""
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
    if LEGACY_COLUMN in names:
        # The few rows naming a case of a replaced system (a migration): every incremental fact reads them
        # (stg_case_system__legacy_links) several times a night; without this, each read scans the history.
        indexes.append(
            (
                sql.Identifier(f"{contract.name}_legacy_idx"),
                sql.SQL("(_source_system, {}) where {} is not null").format(
                    sql.Identifier(CASE_COLUMN), sql.Identifier(LEGACY_COLUMN)
                ),
            )
        )
    if SERVICE_AREA_COLUMN in names and CASE_COLUMN in names:  # the cases' table, not the areas' own list
        # The service area codes the cases name, each read once (macro unlisted_service_area_cases
        # walks the index code by code), so a build finds codes the lists lack without scanning the history.
        indexes.append(
            (
                sql.Identifier(f"{contract.name}_service_area_idx"),
                sql.SQL("(_source_system, {})").format(sql.Identifier(SERVICE_AREA_COLUMN)),
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
    current = current_table(contract)
    held = conn.execute(
        "select array_agg(attname::text) from pg_attribute where attrelid = to_regclass(%s) "
        "and attnum > 0 and not attisdropped",
        (current.as_string(conn),),
    ).fetchone()[0]
    if held and not set(contract.stored_key) <= set(held):
        # The contract's key changed (e.g. Ombudsman figures keyed by the resolved authority, not the
        # name as spelled): the index of current versions is rebuilt. It is only an index of the raw
        # table, so nothing is lost; the next load appends each row it delivers once more.
        conn.execute(sql.SQL("drop table {}").format(current))
    existed = conn.execute("select to_regclass(%s) is not null", (current.as_string(conn),)).fetchone()[0]
    conn.execute(
        sql.SQL(
            "create table if not exists {} (_source_system text not null, {}, _row_hash text not null, "
            "_batch_id bigint not null, _is_deleted boolean not null default false, _updated_at timestamptz, "
            "primary key ({}))"
        ).format(
            current,
            key_columns,
            sql.SQL(", ").join(sql.Identifier(k) for k in ("_source_system", *contract.stored_key)),
        )
    )
    if existed and not _has_column(conn, current, "_updated_at"):
        conn.execute(sql.SQL("alter table {} add column _updated_at timestamptz").format(current))
        if contract.version_column:
            _order_versions_by_source_time(conn, contract)


def _has_column(conn: psycopg.Connection, table: sql.Identifier, column: str) -> bool:
    return conn.execute(
        "select exists (select 1 from pg_attribute where attrelid = %s::regclass and attname = %s "
        "and not attisdropped)",
        (table.as_string(conn), column),
    ).fetchone()[0]


def _order_versions_by_source_time(conn: psycopg.Connection, contract: TableContract) -> None:
    """Once, on a warehouse whose current versions were chosen by batch alone: give each tombstone the
    time of the version it deleted, and choose every key's current version again by source time."""
    raw, current, version = (
        raw_table(contract),
        current_table(contract),
        sql.Identifier(contract.version_column),
    )
    keys = contract.stored_key
    key_list = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    # Set-based: every version of each key with a timeless tombstone, in delivery order; a tombstone
    # takes the latest time among the versions before it.
    conn.execute(
        sql.SQL(
            "update {raw} t set {version} = w.before from ("
            "select ctid as row_id, _is_deleted, max({version}) over (partition by _source_system, {keys} "
            "order by _batch_id, _row_number nulls first) as before from {raw} "
            "where (_source_system, {keys}) in (select _source_system, {keys} from {raw} "
            "where _is_deleted and {version} is null)) w "
            "where t.ctid = w.row_id and w._is_deleted and t.{version} is null"
        ).format(raw=raw, version=version, keys=key_list)
    )
    conn.execute(sql.SQL("truncate {}").format(current))
    conn.execute(
        sql.SQL(
            "insert into {current} (_source_system, {keys}, _row_hash, _batch_id, _is_deleted, _updated_at) "
            "select distinct on (_source_system, {keys}) _source_system, {text_keys}, coalesce(_row_hash, ''), "
            "_batch_id, _is_deleted, {version} from {raw} "
            "order by _source_system, {keys}, {version} desc nulls last, _batch_id desc, _row_number desc nulls first"
        ).format(
            current=current,
            keys=key_list,
            text_keys=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in keys),
            version=version,
            raw=raw,
        )
    )


def ensure_all(conn: psycopg.Connection, contracts: list[TableContract]) -> None:
    """Every contract's raw table, so that dbt's sources exist before a source has delivered them."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.raw_tables'))")
        for contract in contracts:
            ensure_raw_table(conn, contract)
