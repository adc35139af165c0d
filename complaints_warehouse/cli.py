"""``complaints-warehouse``: run the warehouse's pipeline, or one step of it, from the command line.

Exit codes: 0 success; 1 a step failed (dbt error, failing test or expectation); 2 a setting is wrong
or the warehouse cannot be reached; 3 an input file was refused.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from datetime import date
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS, EXIT_REFUSED = 0, 1, 2, 3

DESCRIPTION = """\
The complaints warehouse: loads the council's complaints case system and the Local Government and
Social Care Ombudsman's open data into PostgreSQL, builds the marts with dbt, and validates them with
Great Expectations.

Without WAREHOUSE_URL it uses an embedded PostgreSQL kept in .warehouse/ (started on demand, stopped
with `db stop`). To use your own server:
    export WAREHOUSE_URL=postgresql://user:password@host:5432/warehouse
"""

EPILOG = """\
typical use:
  complaints-warehouse run                 the whole pipeline, now, in this process
  complaints-warehouse airflow-run         the same, as the nightly Airflow DAG (what `make run` does)
  complaints-warehouse load case_system    one step at a time: load, transform, validate
  complaints-warehouse db status           where the warehouse is and whether it is up

exit codes: 0 ok, 1 a step failed, 2 settings or connection problem, 3 input file refused
"""


def _echo(line: str) -> None:
    print(line, flush=True)


def cmd_run(args, settings) -> int:
    from complaints_warehouse import pipeline

    pipeline.run_all(settings, driver="cli", echo=_echo)
    for name, path in pipeline.output_paths(settings).items():
        _echo(f"  {name}: {path}")
    return EXIT_OK


def cmd_load(args, settings) -> int:
    from complaints_warehouse import pipeline

    if args.from_dir:
        field = f"{args.source}_dir"
        settings = type(settings)(**{**settings.__dict__, field: Path(args.from_dir).resolve()})
    target = pipeline.prepare(settings)
    pipeline.step_load(settings, target, args.source, reload=args.reload, echo=_echo)
    return EXIT_OK


def cmd_transform(args, settings) -> int:
    from complaints_warehouse import pipeline

    target = pipeline.prepare(settings)
    pipeline.step_transform(settings, target, select=args.select, echo=_echo)
    return EXIT_OK


def cmd_validate(args, settings) -> int:
    from complaints_warehouse import pipeline

    target = pipeline.prepare(settings)
    pipeline.step_validate(settings, target, pipeline.new_run_id("cli-validate"), echo=_echo)
    return EXIT_OK


def cmd_db(args, settings) -> int:
    from complaints_warehouse import database, embedded_db

    if args.action == "stop":
        stopped = embedded_db.stop(settings.embedded_dir)
        _echo("Stopped the embedded PostgreSQL." if stopped else "The embedded PostgreSQL was not running.")
        return EXIT_OK
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
        schemas = database.bootstrap(target)
        _echo(f"Schemas ready in {target.display}: {', '.join(schemas)}")
    elif args.action == "env":
        for name, value in target.dbt_env().items():
            _echo(f"export {name}={shlex.quote(value)}")
    elif args.action == "url":
        _echo(target.sqlalchemy_url("psycopg").replace("postgresql+psycopg", "postgresql"))
    else:
        _echo(f"Warehouse up: {target.display}")
    return EXIT_OK


def airflow_environment(settings) -> dict[str, str]:
    """Airflow's settings for a local run: its home and SQLite metadata inside the project."""
    home = settings.airflow_home
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(home))
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(settings.project_dir / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    env.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs"))
    env.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS", "True")
    return env


def cmd_airflow_run(args, settings) -> int:
    from complaints_warehouse import pipeline

    pipeline.prepare(settings)  # start the embedded database once, before Airflow's tasks reuse it
    env = airflow_environment(settings)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    _echo(f"Airflow home: {env['AIRFLOW_HOME']} (SQLite metadata)")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True)
    if migrate.returncode != 0:
        _echo(migrate.stdout[-3000:] + migrate.stderr[-3000:])
        _echo("Airflow could not prepare its metadata database (see above).")
        return EXIT_FAILED
    logical_date = args.date or date.today().isoformat()
    _echo(f"Running DAG {args.dag} for {logical_date} with `airflow dags test`")
    test = subprocess.run([airflow, "dags", "test", args.dag, logical_date], env=env)
    state = _last_dag_run_state(env, args.dag)
    _echo(f"DAG {args.dag}: {state or 'no run recorded'}")
    if test.returncode != 0 or state != "success":
        _echo(
            f"See the task logs above, and audit.pipeline_runs in the warehouse ({settings.airflow_home}/logs)."
        )
        return EXIT_FAILED
    summary = pipeline.output_paths(settings)["run summary"]
    if summary.exists():
        _echo(pipeline.one_line(json.loads(summary.read_text())))
    for name, path in pipeline.output_paths(settings).items():
        _echo(f"  {name}: {path}")
    return EXIT_OK


def _last_dag_run_state(env: dict[str, str], dag_id: str) -> str | None:
    """Airflow's own record of the run just made (``dags test`` can exit 0 when a task failed)."""
    import sqlite3

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if not url.startswith("sqlite:///"):
        return "success"  # a server metadata database: trust the exit code
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        row = conn.execute(
            "select state from dag_run where dag_id = ? order by id desc limit 1", (dag_id,)
        ).fetchone()
    return row[0] if row else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaints-warehouse",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="run the whole pipeline now: load, transform, validate, report").set_defaults(
        handler=cmd_run
    )

    p = sub.add_parser("load", help="load one source's extract into its raw schema")
    p.add_argument("source", choices=["case_system", "reference", "ombudsman"], help="which source to load")
    p.add_argument(
        "--from", dest="from_dir", metavar="DIR", help="the extract folder (default: from settings)"
    )
    p.add_argument(
        "--reload", action="store_true", help="load files even if the same content was loaded before"
    )
    p.set_defaults(handler=cmd_load)

    p = sub.add_parser("transform", help="build the warehouse with dbt (models, seeds and their tests)")
    p.add_argument("--select", help="a dbt selection, e.g. 'marts' or 'fct_representations+'")
    p.set_defaults(handler=cmd_transform)

    sub.add_parser("validate", help="run the Great Expectations checkpoint and write Data Docs").set_defaults(
        handler=cmd_validate
    )

    p = sub.add_parser("db", help="the warehouse database: start, stop, status, init (schemas), url, env")
    p.add_argument(
        "action",
        choices=["start", "stop", "status", "init", "url", "env"],
        help="start/stop the embedded server; status; init the schemas; print its url, or shell exports for dbt",
    )
    p.set_defaults(handler=cmd_db)

    p = sub.add_parser("airflow-run", help="run a DAG end to end through Airflow (airflow dags test)")
    p.add_argument("--dag", default="case_system_nightly", help="the DAG id (default: case_system_nightly)")
    p.add_argument("--date", help="the logical date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=cmd_airflow_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from complaints_warehouse.database import WarehouseUnavailable
    from complaints_warehouse.settings import SettingsError, load_settings
    from complaints_warehouse.transform import TransformFailed
    from complaints_warehouse.validate import ValidationFailed
    from ingestion.copy_loader import RefusedFile

    try:
        return args.handler(args, load_settings())
    except (SettingsError, WarehouseUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETTINGS
    except RefusedFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (TransformFailed, ValidationFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
