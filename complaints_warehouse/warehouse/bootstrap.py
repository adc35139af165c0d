"""The warehouse's set-up, idempotent: its schemas, the audit and publication tables (``sql/``), the roles and
their grants. ``pipeline.prepare`` runs it; the Airflow tasks only when what it would do has changed
(``set_up_stamp``: a checksum of the SQL, this code, the roles' names and passwords, and what the caller
adds), so an hourly gate or a report task does not re-run the DDL and grants."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql

from complaints_warehouse.warehouse import database, roles
from complaints_warehouse.warehouse.database import SCHEMAS, Connection, WarehouseUnavailable, connect


def bootstrap(target: Connection) -> list[str]:
    """Create the project's schemas, audit tables and roles (with their grants) if missing; idempotent.
    Returns the schema names."""
    ddl = resources.files("complaints_warehouse.warehouse").joinpath("sql/bootstrap.sql").read_text()
    with connect(target) as conn:
        try:
            # One session at a time: two concurrent bootstraps would race on CREATE ... IF NOT EXISTS.
            conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.bootstrap'))")
            _create_schemas(conn, target)
            roles.ensure_roles(conn, target.logins)
            conn.execute(ddl)
            # Publication integrity: validated snapshots, known issues, the publication chain (and its upgrade).
            conn.execute(
                resources.files("complaints_warehouse.warehouse").joinpath("sql/publication.sql").read_text()
            )
            roles.grant_privileges(conn, target.logins)
        except psycopg.errors.InsufficientPrivilege as exc:
            conn.rollback()
            raise WarehouseUnavailable(_not_allowed(target, exc)) from None
    return list(SCHEMAS)


def _create_schemas(conn: psycopg.Connection, target: Connection) -> None:
    """The project's schemas, made if missing. CREATE SCHEMA checks the right to create before whether
    the schema exists, so one already there is left alone: a login without CREATE on the database can
    still run a warehouse whose schemas its administrator made. One missing needs CREATE."""
    for schema, comment in SCHEMAS.items():
        if not conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone():
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
            except psycopg.errors.DuplicateSchema:
                pass  # another database session made it meanwhile (the lock is per database)
            except psycopg.errors.InsufficientPrivilege:
                raise WarehouseUnavailable(
                    f"{target.user} may not create schemas in the database {target.dbname} "
                    f"({target.display}): the warehouse's login needs CREATE on its database. "
                    f"Ask the server's administrator to run: grant create on database {target.dbname} "
                    f"to {target.user}"
                ) from None
        conn.execute(
            sql.SQL("comment on schema {} is {}").format(sql.Identifier(schema), sql.Literal(comment))
        )


def _not_allowed(target: Connection, exc: psycopg.Error) -> str:
    """What a login lacking a right needed to set the warehouse up should ask for."""
    reason = (exc.diag.message_primary or str(exc)).strip()
    return (
        f"{target.user} lacks a right the warehouse's set-up needs ({target.display}): {reason}. "
        "The warehouse's login must own the project's schemas, with CREATE on the database "
        "(see README, Use your own PostgreSQL)."
    )


#: The table that remembers the last set-up's stamp (one row).
STAMP_TABLE = "audit.warehouse_set_up"


def set_up_stamp(target: Connection, *extra: str) -> str:
    """A checksum of everything the set-up depends on: its SQL, the set-up and roles code, the roles'
    names and (hashed) passwords (``target.logins``), and ``extra`` (the caller's, e.g. the raw tables'
    contracts)."""
    digest = hashlib.sha256()
    package = resources.files("complaints_warehouse.warehouse")
    for part in ("sql/bootstrap.sql", "sql/publication.sql"):
        digest.update(package.joinpath(part).read_bytes())
    for module in (__file__, roles.__file__, database.__file__):
        digest.update(Path(module).read_bytes())
    for job in roles.ROLE_JOBS:
        password = target.logins.password(job) or ""
        digest.update(f"{target.logins.name(job)}:{hashlib.sha256(password.encode()).hexdigest()}".encode())
    for text in extra:
        digest.update(text.encode())
    return digest.hexdigest()


def is_set_up(target: Connection, stamp: str) -> bool:
    """Whether the warehouse's last set-up had this stamp (nothing to do)."""
    with connect(target) as conn:
        if conn.execute("select to_regclass(%s) is null", (STAMP_TABLE,)).fetchone()[0]:
            return False
        row = conn.execute(sql.SQL("select stamp from {}").format(sql.SQL(STAMP_TABLE))).fetchone()
        # Roles are the server's, not the database's: a restore onto another server, or a role dropped
        # by hand, must be set up again even though the stamp matches.
        names = [target.logins.name(job) for job in roles.ROLE_JOBS]
        [present] = conn.execute("select count(*) from pg_roles where rolname = any(%s)", (names,)).fetchone()
    return row is not None and row[0] == stamp and present == len(names)


def record_set_up(target: Connection, stamp: str) -> None:
    """Remember the set-up just made (``is_set_up``)."""
    with connect(target) as conn:
        conn.execute(
            sql.SQL(
                "create table if not exists {} (stamp text not null, set_up_at timestamptz not null default "
                "clock_timestamp(), only_row boolean primary key default true check (only_row))"
            ).format(sql.SQL(STAMP_TABLE))
        )
        conn.execute(
            sql.SQL(
                "insert into {} (stamp) values (%s) on conflict (only_row) do update "
                "set stamp = excluded.stamp, set_up_at = excluded.set_up_at"
            ).format(sql.SQL(STAMP_TABLE)),
            (stamp,),
        )
