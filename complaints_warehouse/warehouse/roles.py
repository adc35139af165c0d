"""Least-privilege database roles: each part of the pipeline can touch only what its job needs.

=================  ==========================================================================================
role               may
=================  ==========================================================================================
``loader``         create and write the raw tables (``raw_case_system``, ``raw_ombudsman``, ``raw_reference``)
                   and the personal-data tables it loads in ``restricted`` (``complainants`` and its
                   current-version index, which it owns and so also reads: an incremental load compares each
                   row with the version held); insert into ``restricted.quarantine`` and ``restricted.unknown_columns`` (not read them); write the
                   batch ledger, watermarks, source systems and ``audit.quarantine``. Nothing in ``staging``,
                   ``intermediate``, ``marts`` or ``published``: it cannot read, alter, insert into or drop a mart.
``transformer``    dbt: read the raw schemas, ``audit.source_systems`` and the batch ledger; keep
                   ``audit.incremental_watermarks`` (each incremental build's batches) and
                   ``audit.fact_removed_rows`` and ``audit.nightly_test_scope`` (a run's replaced fact
                   rows and test scope); own and write ``staging``,
                   ``intermediate`` and ``marts`` (snapshots live in ``marts``). No access to ``restricted``.
``bi_reader``      read ``marts`` and ``published``, nothing else (a login only when its password is set).
=================  ==========================================================================================

The warehouse's owner -- the login in ``WAREHOUSE_URL`` (or the embedded server's superuser) -- creates the
schemas and these roles (or, without CREATEROLE, finds them made by the server's administrator), is a
member of ``loader`` and ``transformer``, and runs what needs to see across layers: validation (it
reconciles raw, quarantine and marts), publication (reads marts and audit, inserts into ``published``,
whose tables refuse update and delete), retention and subject-access exports.

Loads run as ``loader`` and dbt as ``transformer``: with ``WAREHOUSE_LOADER_PASSWORD`` /
``WAREHOUSE_TRANSFORMER_PASSWORD`` set they log in as themselves; otherwise the owner's connection
switches to the role as it opens (``SET ROLE``, through libpq's ``options``; dbt's profile ``role:``).

Roles belong to the server, not to one database: ``WAREHOUSE_ROLE_PREFIX`` (e.g. ``lbc_``) names them
``lbc_loader``... so two warehouses on one server do not share roles (sharing would let one warehouse's
loader write the other's raw tables).
"""

from __future__ import annotations

import dataclasses

import psycopg
from psycopg import sql

from complaints_warehouse.settings import ROLE_JOBS, RoleLogins
from complaints_warehouse.warehouse.database import WarehouseUnavailable

LOADER, TRANSFORMER, BI_READER = ROLE_JOBS
RAW_SCHEMAS = ("raw_case_system", "raw_ombudsman", "raw_reference")
DBT_SCHEMAS = ("staging", "intermediate", "marts")
#: Ledger tables the loader reads and writes (its upserts need select and update).
LOADER_LEDGER = ("load_batches", "source_watermarks", "source_systems")
LOADER_SEQUENCES = ("load_batches_batch_id_seq", "quarantine_quarantine_id_seq")
#: relkind -> the ALTER keyword that changes its owner.
_OWNED_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view"}


def as_role(target, job: str):
    """``target`` (a ``database.Connection``) acting as ``job``'s role: its own login when its password is
    set, else the same login switching to the role as it connects. The names and passwords are the
    settings' (``target.logins``)."""
    name, password = target.logins.name(job), target.logins.password(job)
    if password:
        return dataclasses.replace(target, user=name, password=password, role=None)
    return dataclasses.replace(target, role=name)


def ensure_roles(conn: psycopg.Connection, logins: RoleLogins) -> None:
    """Create the roles (without login) if missing, make the current user a member of the loader and the
    transformer (so it can hand them ownership and switch to them), and give a login to those whose
    password is set.

    A user without CREATEROLE cannot create them: the server's administrator must (the message says how).
    Two databases bootstrapping at once may race to create a role: the loser finds it made.
    """
    missing = []
    for job in ROLE_JOBS:
        name = logins.name(job)
        conn.execute(
            sql.SQL(
                "do $$ begin "
                "if not exists (select 1 from pg_roles where rolname = {name}) then create role {role} nologin; end if; "
                "exception when duplicate_object or unique_violation then null; "
                "when insufficient_privilege then null; end $$"
            ).format(name=sql.Literal(name), role=sql.Identifier(name))
        )
        if not conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone():
            missing.append(name)
            continue
        if job != BI_READER:  # the owner hands loader and transformer their tables and switches to them
            _become_member(conn, name)
        password = logins.password(job)
        if password:
            try:
                with conn.transaction():
                    conn.execute(
                        sql.SQL("alter role {} with login password {}").format(
                            sql.Identifier(name), sql.Literal(password)
                        )
                    )
            except psycopg.errors.InsufficientPrivilege:
                pass  # the server's administrator manages this login and its password
    if missing:
        user = conn.execute("select current_user").fetchone()[0]
        raise WarehouseUnavailable(
            f"The warehouse's roles {', '.join(missing)} do not exist and {user} may not create them "
            f"(no CREATEROLE). Ask the server's administrator to run: "
            + "; ".join(
                # Shown to a person, never executed.
                "create role "
                + m
                + " nologin"
                + ("" if m == logins.name(BI_READER) else f"; grant {m} to {user}")
                for m in missing
            )
        )


def _become_member(conn: psycopg.Connection, name: str) -> None:
    user, superuser = conn.execute(
        "select current_user, rolsuper from pg_roles where rolname = current_user"
    ).fetchone()
    if superuser or user == name:
        return
    if conn.execute("select pg_has_role(current_user, %s, 'member')", (name,)).fetchone()[0]:
        return
    try:
        with conn.transaction():
            conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(name), sql.Identifier(user)))
    except psycopg.errors.InsufficientPrivilege:
        raise WarehouseUnavailable(
            f"{user} is not a member of the warehouse's role {name} and may not make itself one. "
            f"Ask the server's administrator to run: grant {name} to {user}"
        ) from None


def grant_privileges(conn: psycopg.Connection, logins: RoleLogins) -> None:
    """Grant each role exactly its job (see the module's table); idempotent, run by every bootstrap.

    Tables made before the roles existed (an older warehouse) are handed to the role that now owns that
    layer, so dbt (as transformer) can replace its models and the loader can extend its raw tables.
    """
    loader, transformer, bi_reader = (sql.Identifier(logins.name(job)) for job in ROLE_JOBS)
    ident = sql.Identifier
    database = ident(conn.info.dbname)
    run = conn.execute

    run(sql.SQL("grant connect, temporary on database {} to {}, {}").format(database, loader, transformer))
    run(sql.SQL("grant connect on database {} to {}").format(database, bi_reader))

    # Raw layer: the loader's. dbt reads it, now and whatever the loader (or the owner) creates later.
    for schema in (*RAW_SCHEMAS, "restricted"):
        run(sql.SQL("grant usage, create on schema {} to {}").format(ident(schema), loader))
    for schema in RAW_SCHEMAS:
        run(sql.SQL("grant usage on schema {} to {}").format(ident(schema), transformer))
        run(sql.SQL("grant select on all tables in schema {} to {}").format(ident(schema), transformer))
        for creator in (loader, None):
            run(
                sql.SQL("alter default privileges {} in schema {} grant select on tables to {}").format(
                    sql.SQL("for role {}").format(creator) if creator else sql.SQL(""),
                    ident(schema),
                    transformer,
                )
            )
        _hand_over(conn, schema, logins.name(LOADER))
    _hand_over(conn, "restricted", logins.name(LOADER), keep=("quarantine", "unknown_columns"))
    run(sql.SQL("grant insert on restricted.quarantine to {}").format(loader))
    run(sql.SQL("grant insert on restricted.unknown_columns to {}").format(loader))

    # Audit: the loader keeps the ledger; dbt reads which system replaced which.
    run(sql.SQL("grant usage on schema audit to {}, {}").format(loader, transformer))
    for table in LOADER_LEDGER:
        run(sql.SQL("grant select, insert, update on {} to {}").format(ident("audit", table), loader))
    run(sql.SQL("grant insert on audit.quarantine to {}").format(loader))
    for sequence in LOADER_SEQUENCES:
        run(sql.SQL("grant usage on sequence {} to {}").format(ident("audit", sequence), loader))
    run(sql.SQL("grant select on audit.source_systems to {}").format(transformer))
    # Incremental facts take in the batches loaded since their last build, and record each build.
    run(sql.SQL("grant select on audit.load_batches to {}").format(transformer))
    run(sql.SQL("grant select, insert, update on audit.incremental_watermarks to {}").format(transformer))
    run(sql.SQL("grant select, insert, delete on audit.fact_removed_rows to {}").format(transformer))
    run(sql.SQL("grant select, insert, delete on audit.nightly_test_scope to {}").format(transformer))

    # dbt's layers: the transformer's. BI reads the marts, including every table dbt makes there later.
    for schema in DBT_SCHEMAS:
        run(sql.SQL("grant usage, create on schema {} to {}").format(ident(schema), transformer))
        _hand_over(conn, schema, logins.name(TRANSFORMER))
    for schema in ("marts", "published"):
        run(sql.SQL("grant usage on schema {} to {}").format(ident(schema), bi_reader))
        run(sql.SQL("grant select on all tables in schema {} to {}").format(ident(schema), bi_reader))
    # The reporting views (rpt_bmmr_pack_*) read the published BMMR's current version: dbt reads it, never
    # writes it (the published schema refuses changes, and the transformer is granted nothing else there).
    run(sql.SQL("grant usage on schema published to {}").format(transformer))
    run(sql.SQL("grant select on published.bmmr_current to {}").format(transformer))
    run(
        sql.SQL("alter default privileges for role {} in schema marts grant select on tables to {}").format(
            transformer, bi_reader
        )
    )
    run(
        sql.SQL("alter default privileges in schema published grant select on tables to {}").format(bi_reader)
    )

    # Whatever an earlier release or a hand may have granted beyond the jobs above is taken back.
    for schema in (*RAW_SCHEMAS, "staging", "intermediate", "audit", "restricted"):
        run(sql.SQL("revoke all on all tables in schema {} from {}").format(ident(schema), bi_reader))
        run(sql.SQL("revoke all on schema {} from {}").format(ident(schema), bi_reader))
    run(sql.SQL("revoke all on all tables in schema restricted from {}").format(transformer))
    run(sql.SQL("revoke all on schema restricted from {}").format(transformer))
    for schema in ("marts", "published"):
        run(sql.SQL("revoke create on schema {} from {}").format(ident(schema), loader))


def _hand_over(conn: psycopg.Connection, schema: str, owner: str, keep: tuple[str, ...] = ()) -> None:
    """Make ``owner`` the owner of every table and view in ``schema`` (except ``keep``)."""
    rows = conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relkind = any(%s) and c.relowner <> %s::regrole "
        "and c.relname <> all(%s)",
        (schema, list(_OWNED_KINDS), owner, list(keep)),
    ).fetchall()
    for name, kind in rows:
        conn.execute(
            sql.SQL("alter {} {} owner to {}").format(
                sql.SQL(_OWNED_KINDS[kind]), sql.Identifier(schema, name), sql.Identifier(owner)
            )
        )
