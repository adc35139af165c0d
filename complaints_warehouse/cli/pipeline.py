"""The pipeline's commands: run, load, backfill, transform, validate, airflow-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from complaints_warehouse.cli.common import EXIT_FAILED, EXIT_OK, EXIT_SETTINGS, MARTS_WAIT, _day, _echo


def add_run(sub) -> None:
    p = sub.add_parser("run", help="run the whole pipeline now: load, transform, validate, publish, report")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run is in progress, wait up to this long for it (default 0: exit 4 at once)",
    )
    p.set_defaults(handler=cmd_run)


def add_load(sub) -> None:
    p = sub.add_parser(
        "load", help="load the configured sources (or one) into the raw schemas, incrementally"
    )
    p.add_argument(
        "source",
        nargs="?",
        help="a configured source system (e.g. rms), 'ombudsman', or 'case_system --from DIR' for a folder "
        "of contract-shaped CSVs; default: every configured source, then the Ombudsman data",
    )
    p.add_argument("--from", dest="from_dir", metavar="DIR", help="the folder, for case_system or ombudsman")
    p.add_argument(
        "--reload", action="store_true", help="load files even if the same content was loaded before"
    )
    p.set_defaults(handler=cmd_load)


def add_backfill(sub) -> None:
    p = sub.add_parser("backfill", help="re-load one SQL source system's rows updated in a date range")
    p.add_argument("source", help="the configured source system, e.g. rms")
    p.add_argument("--start", required=True, type=_day, help="first day, YYYY-MM-DD")
    p.add_argument("--end", required=True, type=_day, help="last day, YYYY-MM-DD (inclusive)")
    p.set_defaults(handler=cmd_backfill)


def add_transform(sub) -> None:
    p = sub.add_parser("transform", help="build the warehouse with dbt (models, seeds and their tests)")
    p.add_argument("--select", help="a dbt selection, e.g. 'marts' or 'fct_representations+'")
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental facts from scratch (dbt --full-refresh)",
    )
    p.add_argument(
        "--unit-tests",
        action="store_true",
        help="run dbt's unit tests too (they check the models' SQL on fixed inputs: after an upgrade)",
    )
    p.set_defaults(handler=cmd_transform)
    p.add_argument("--wait", **MARTS_WAIT)


def add_validate(sub) -> None:
    p = sub.add_parser("validate", help="run the Great Expectations checkpoint and write Data Docs")
    p.add_argument("--wait", **MARTS_WAIT)
    p.set_defaults(handler=cmd_validate)


def add_airflow_run(sub) -> None:
    p = sub.add_parser("airflow-run", help="run a DAG end to end through Airflow (airflow dags test)")
    p.add_argument("--dag", default="case_system_nightly", help="the DAG id (default: case_system_nightly)")
    p.add_argument("--date", help="the logical date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=cmd_airflow_run)


def cmd_run(args, settings) -> int:
    from complaints_warehouse import pipeline

    pipeline.run_all(settings, driver="cli", wait_s=args.wait, echo=_echo)
    for name, path in pipeline.output_paths(settings).items():
        _echo(f"  {name}: {path}")
    return EXIT_OK


def cmd_load(args, settings) -> int:
    from complaints_warehouse import load, pipeline

    target = pipeline.prepare(settings)
    folder_sources = ("reference", "ombudsman")
    if args.source in folder_sources or (args.source == "case_system" and args.from_dir):
        # A folder of files: the reference and Ombudsman data, or an ad hoc contract-shaped extract.
        if args.from_dir:
            field = f"{args.source}_dir"
            settings = type(settings)(**{**settings.__dict__, field: Path(args.from_dir).resolve()})
        pipeline.step_load(settings, target, args.source, reload=args.reload, echo=_echo)
        return EXIT_OK
    configs = load.load_source_configs(settings)
    chosen = [c for c in configs if args.source in (None, c.source_system)]
    if args.source and not chosen:
        names = ", ".join(c.source_system for c in configs)
        _echo(
            f"No configured source system is called {args.source!r} (configured: {names}; see WAREHOUSE_SOURCES)."
        )
        return EXIT_SETTINGS
    for config in chosen:
        pipeline.step_load_source_system(settings, target, config, echo=_echo)
    if args.source is None:
        pipeline.step_load(settings, target, "reference", echo=_echo)
        pipeline.step_load(settings, target, "ombudsman", echo=_echo)
    return EXIT_OK


def cmd_backfill(args, settings) -> int:
    from datetime import UTC, datetime, time

    from complaints_warehouse import load, pipeline

    start = datetime.combine(date.fromisoformat(args.start), time.min, tzinfo=UTC)
    end = datetime.combine(date.fromisoformat(args.end), time.max, tzinfo=UTC)
    if end <= start:
        _echo("The backfill's --end must be after its --start.")
        return EXIT_SETTINGS
    target = pipeline.prepare(settings)
    configs = [c for c in load.load_source_configs(settings) if c.source_system == args.source]
    if not configs:
        _echo(f"No configured source system is called {args.source!r}.")
        return EXIT_SETTINGS
    if configs[0].adapter != "sql":
        _echo(
            "Backfill re-reads a database by date; a files source is backfilled by dropping the files again."
        )
        return EXIT_SETTINGS
    pipeline.step_load_source_system(settings, target, configs[0], window=(start, end), echo=_echo)
    return EXIT_OK


def cmd_transform(args, settings) -> int:
    from complaints_warehouse import pipeline
    from complaints_warehouse.warehouse import database
    from complaints_warehouse.warehouse.locks import marts_lock

    # The marts first: a command that must wait learns it at once, before its DDL queues behind another's.
    target = database.resolve(settings)
    with marts_lock(target, wait_s=args.wait, purpose="transform (dbt build)", echo=_echo):
        pipeline.prepare(settings, target)
        pipeline.step_transform(
            settings,
            target,
            select=args.select,
            full_refresh=args.full_refresh,
            unit_tests=args.unit_tests,
            echo=_echo,
        )
    return EXIT_OK


def cmd_validate(args, settings) -> int:
    from complaints_warehouse import pipeline
    from complaints_warehouse.warehouse import database
    from complaints_warehouse.warehouse.locks import marts_lock

    # The marts first: a command that must wait learns it at once, before its DDL queues behind another's.
    target = database.resolve(settings)
    run_id = pipeline.new_run_id("cli-validate")
    with marts_lock(target, wait_s=args.wait, purpose=f"validate ({run_id})", echo=_echo):
        pipeline.prepare(settings, target)
        pipeline.step_validate(settings, target, run_id, echo=_echo)
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


def airflow_pool_command(airflow: str = "airflow") -> list[str]:
    """``airflow pools set``: the pool the DAGs' dbt tasks queue for (``orchestration.DBT_POOL``, one slot).
    The compose stack's airflow-init runs the same command."""
    from complaints_warehouse import orchestration

    return [
        airflow,
        "pools",
        "set",
        orchestration.DBT_POOL,
        str(orchestration.DBT_POOL_SLOTS),
        orchestration.DBT_POOL_DESCRIPTION,
    ]


def cmd_airflow_run(args, settings) -> int:
    from complaints_warehouse import outputs, pipeline
    from complaints_warehouse.settings import verbose

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
    pool = subprocess.run(airflow_pool_command(airflow), env=env, capture_output=True, text=True)
    if pool.returncode != 0:
        _echo(pool.stdout[-3000:] + pool.stderr[-3000:])
        _echo("Airflow could not create its dbt pool (see above).")
        return EXIT_FAILED
    logical_date = args.date or date.today().isoformat()
    log = settings.outputs_dir / "logs" / f"{args.dag}-{logical_date}.log"
    _echo(f"Running DAG {args.dag} for {logical_date} with `airflow dags test`")
    command = [airflow, "dags", "test", args.dag, logical_date]
    if verbose():
        test = subprocess.run(command, env=env)
    else:  # Airflow's and dbt's own lines go to the log; the screen gets each task as it ends
        with outputs.log_file(log) as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
            _follow_tasks(env, args.dag, process)
            test = subprocess.CompletedProcess(command, process.wait())
        _echo(f"Full log: {log} (VERBOSE=1 shows it as it runs)")
    state = _last_dag_run_state(env, args.dag)
    _echo(f"DAG {args.dag}: {state or 'no run recorded'}")
    if test.returncode != 0 or state != "success":
        if log.exists() and not verbose():
            _echo("".join(log.read_text(errors="replace").splitlines(keepends=True)[-40:]).rstrip())
        _echo(
            f"See the log above or {log}, the task logs in {settings.airflow_home}/logs, and "
            "audit.pipeline_runs in the warehouse."
        )
        return EXIT_FAILED
    summary = pipeline.output_paths(settings)["run summary"]
    if summary.exists():
        _echo(pipeline.one_line(json.loads(summary.read_text())))
    for name, path in pipeline.output_paths(settings).items():
        _echo(f"  {name}: {path}")
    return EXIT_OK


#: Task states an `airflow dags test` run ends a task in.
FINISHED_STATES = ("success", "failed", "skipped", "upstream_failed", "removed")


def _follow_tasks(env: dict[str, str], dag_id: str, process: subprocess.Popen) -> None:
    """Print each task of the run ``process`` is making as it finishes, from Airflow's own metadata
    (its SQLite database): one line a task, whatever Airflow and dbt log."""
    import sqlite3
    import time

    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if not url.startswith("sqlite:///"):
        return
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        try:
            before = conn.execute("select coalesce(max(id), 0) from dag_run").fetchone()[0]
        except sqlite3.Error:
            before = 0
    shown: set[str] = set()
    while True:
        running = process.poll() is None
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                rows = conn.execute(
                    "select ti.task_id, ti.state, ti.duration from task_instance ti "
                    "join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id "
                    "where ti.dag_id = ? and dr.id > ? order by ti.end_date",
                    (dag_id, before),
                ).fetchall()
        except sqlite3.Error:  # locked while Airflow writes, or not there yet: look again
            rows = []
        for task, state, duration in rows:
            if state in FINISHED_STATES and task not in shown:
                shown.add(task)
                took = f" ({duration:.0f} s)" if duration is not None else ""
                _echo(f"  {task}: {state}{took}")
        if not running:
            return
        time.sleep(1.0)


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
