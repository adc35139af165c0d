"""The warehouse's set-up, idempotent: its schemas, the audit and publication tables (``sql/``), the roles and
their grants. Run once where a process starts using a warehouse (``pipeline.prepare``, ``db init``), not
at every task."""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

from complaints_warehouse.warehouse import roles
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
            roles.ensure_roles(conn)
            conn.execute(ddl)
            # Publication integrity: validated snapshots, known issues, the publication chain (and its upgrade).
            conn.execute(
                resources.files("complaints_warehouse.warehouse").joinpath("sql/publication.sql").read_text()
            )
            roles.grant_privileges(conn)
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
