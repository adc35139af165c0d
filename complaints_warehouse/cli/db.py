"""The warehouse database: db start, stop, status, init, url, env, serve."""

from __future__ import annotations

import shlex

from complaints_warehouse.cli.common import EXIT_OK, _echo


def add_db(sub) -> None:
    p = sub.add_parser(
        "db",
        help="the warehouse database: start, stop, status, init (schemas), url, env, serve (to BI tools)",
    )
    p.add_argument(
        "action",
        choices=["start", "stop", "status", "init", "url", "env", "serve"],
        help="start/stop the embedded server; status; init the schemas; print its url, or shell exports for "
        "dbt; serve: open the embedded server to BI tools on a local TCP port (bi_reader, with a password)",
    )
    p.add_argument("--port", type=int, default=5432, help="db serve: the TCP port (default 5432)")
    p.add_argument(
        "--listen", default="localhost", help="db serve: the address to listen on (default localhost)"
    )
    p.set_defaults(handler=cmd_db)


def cmd_db(args, settings) -> int:
    from complaints_warehouse.warehouse import database, embedded_db
    from complaints_warehouse.warehouse.bootstrap import bootstrap

    if args.action == "stop":
        stopped = embedded_db.stop(settings.embedded_dir)
        _echo("Stopped the embedded PostgreSQL." if stopped else "The embedded PostgreSQL was not running.")
        return EXIT_OK
    if args.action == "serve":
        return _serve(args, settings)
    if args.action == "status":
        if settings.warehouse_url:
            target = database.Connection.from_url(settings.warehouse_url)
            with database.connect(target) as conn:
                version = conn.info.server_version
            _echo(f"Warehouse: {target.display} (WAREHOUSE_URL), PostgreSQL {version // 10000}, reachable.")
        else:
            state = embedded_db.status(settings.embedded_dir)
            where = f"pid {state.pid}" if state.running else "not running"
            _echo(f"Warehouse: embedded PostgreSQL in {state.data_dir}, {where}.")
        return EXIT_OK
    target = database.resolve(settings)  # start / init / url
    if args.action == "init":
        schemas = bootstrap(target)
        _echo(f"Schemas ready in {target.display}: {', '.join(schemas)}")
    elif args.action == "env":
        for name, value in target.dbt_env().items():
            _echo(f"export {name}={shlex.quote(value)}")
    elif args.action == "url":
        _echo(target.sqlalchemy_url("psycopg").replace("postgresql+psycopg", "postgresql"))
    else:
        _echo(f"Warehouse up: {target.display}")
    return EXIT_OK


def _serve(args, settings) -> int:
    """Open the embedded warehouse to BI tools on a local TCP port, with the bi_reader login."""
    from complaints_warehouse.settings import SettingsError
    from complaints_warehouse.warehouse import database, embedded_db
    from complaints_warehouse.warehouse.bootstrap import bootstrap

    if settings.warehouse_url:
        raise SettingsError(
            "db serve opens the embedded PostgreSQL; with WAREHOUSE_URL set, your server's own "
            "listen_addresses and pg_hba.conf decide who connects (BI logins: bi_reader, see docs/bi.md)."
        )
    if not settings.roles.password("bi_reader"):
        raise SettingsError(
            "db serve needs WAREHOUSE_BI_READER_PASSWORD: the password BI tools log in as bi_reader with "
            "(over TCP every login needs a password)."
        )
    target = database.resolve(settings)
    bootstrap(target)  # bi_reader gets its login and password
    try:
        embedded_db.serve(settings.embedded_dir, port=args.port, listen=args.listen)
    except Exception as exc:  # pg_ctl's own failure (the port in use...): its log says why
        raise database.WarehouseUnavailable(
            f"Could not open the embedded PostgreSQL on {args.listen}:{args.port}: {exc}. "
            f"Its log is {settings.embedded_dir / 'pgdata' / 'log'}."
        ) from exc
    _echo(
        f"Warehouse served on {args.listen}:{args.port} (until `complaints-warehouse db stop`): "
        f"host {args.listen}, port {args.port}, database {settings.database_name}, user {settings.roles.name('bi_reader')}, "
        "password WAREHOUSE_BI_READER_PASSWORD, SSL off (local only). Start with the marts and published schemas."
    )
    return EXIT_OK
