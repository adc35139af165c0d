"""``complaints-warehouse``: run the warehouse's pipeline, or one step of it, from the command line.

Exit codes: 0 success; 1 a step failed (dbt error, failing test or expectation); 2 a setting is wrong
or the warehouse cannot be reached; 3 an input file was refused; 4 another run holds the warehouse
(nothing was changed); 5 the published record has been tampered with (``verify``, ``publish`` and the
BMMR pack refuse, naming each edited or removed publication).
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

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS, EXIT_REFUSED, EXIT_BUSY, EXIT_TAMPERED = 0, 1, 2, 3, 4, 5

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
  complaints-warehouse load rms            one step at a time: load, transform, validate
  complaints-warehouse publish             validate, then freeze the latest complete month's BMMR
  complaints-warehouse restatements        every published BMMR figure a later version changed
  complaints-warehouse verify              check every publication's figures and the publication chain
  complaints-warehouse known-issue list    signed-off validation failures the publication gate honours
  complaints-warehouse retention purge     purge personal data past its retention period (--dry-run)
  complaints-warehouse subject-access REF --out FILE   everything held about one complainant
  complaints-warehouse report bmmr         the BMMR pack of the latest published month (HTML)
  complaints-warehouse simulator advance   move the demo's case system on a day, then load again
  complaints-warehouse db status           where the warehouse is and whether it is up

exit codes: 0 ok, 1 a step failed, 2 settings, connection or output file problem, 3 input file refused,
            4 another run is in progress (nothing changed), 5 published figures tampered with
"""


def _echo(line: str) -> None:
    print(line, flush=True)


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


def cmd_simulator(args, settings) -> int:
    from complaints_warehouse import pipeline, simulated_source

    target = pipeline.prepare(settings)
    if args.action == "create":
        sim, created = simulated_source.ensure(
            target,
            councils=args.councils,
            start=date.fromisoformat(args.start),
            until=date.fromisoformat(args.until),
            seed=args.seed,
            replace=not args.if_missing,
        )
        if created is None:
            _echo(f"The simulated case system exists (its day is {sim.today}); left as it is.")
        else:
            _echo(
                f"Created the simulated case system up to {args.until}: "
                + ", ".join(f"{v} {k}" for k, v in created.items())
            )
        return EXIT_OK
    sim = simulated_source.simulator(target)
    if not sim.exists():
        _echo("There is no simulated case system yet: run `complaints-warehouse simulator create`.")
        return EXIT_SETTINGS
    if args.action == "advance":
        for day in sim.advance(args.days):
            _echo(", ".join(f"{k} {v if not isinstance(v, list) else len(v)}" for k, v in day.items()))
    else:
        _echo(f"Simulated case system: its day is {sim.today}; state {sim.state()}")
    return EXIT_OK


def _tools_on_path(settings) -> None:
    """The benchmarks are development tools: they live in the checkout's ``tools/``, beside the package,
    not in the installed product; ``bench`` finds them there (``make bench`` runs from a checkout)."""
    from complaints_warehouse.settings import SettingsError

    if not (settings.project_dir / "tools" / "bench.py").is_file():
        raise SettingsError(
            f"bench needs the project's development tools (tools/bench.py) in {settings.project_dir}: run it "
            "from a checkout of the project (`make bench`), or set WAREHOUSE_PROJECT_DIR to one."
        )
    if str(settings.project_dir) not in sys.path:
        sys.path.insert(0, str(settings.project_dir))


def cmd_bench(args, settings) -> int:
    _tools_on_path(settings)
    from complaints_warehouse import pipeline
    from tools import bench

    _echo("DAG file parse times (median of 5 fresh processes, after importing airflow.sdk):")
    bench.dag_parse_times(settings, echo=_echo)
    if args.dags_only:
        return EXIT_OK
    target = pipeline.prepare(settings)
    if args.validation_only:
        _echo("Validation next to the build, on the warehouse as loaded:")
        bench.validation_vs_build(settings, target, echo=_echo)
    elif args.incremental_only:
        _echo(
            f"The nightly build, full and incremental (0.5 % of cases changed), at {args.representations:,} cases:"
        )
        bench.incremental_vs_full(settings, target, representations=args.representations, echo=_echo)
    elif args.load_only:
        bench.run(settings, target, representations=args.representations, echo=_echo)
    elif args.another_night:
        from tools import national_bench

        national_bench.another_night(settings, target, echo=_echo)
    else:
        from tools import national_bench

        national_bench.run(
            settings, target, councils=args.councils, years=args.years, templates=args.templates, echo=_echo
        )
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
            settings, target, select=args.select, full_refresh=args.full_refresh, echo=_echo
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


def cmd_publish(args, settings) -> int:
    """Validate the warehouse as it is now, then publish from that validation (never unvalidated): the
    marts are held from the validation to the publication, so no build can change them in between."""
    import getpass

    from complaints_warehouse import integrity, pipeline, publish
    from complaints_warehouse.warehouse import database
    from complaints_warehouse.warehouse.locks import marts_lock

    # The marts first: a command that must wait learns it at once, before its DDL queues behind another's.
    target = database.resolve(settings)
    run_id = pipeline.new_run_id("cli-publish")
    with marts_lock(target, wait_s=args.wait, purpose=f"publish ({run_id})", echo=_echo):
        pipeline.prepare(settings, target)
        with database.connect(target) as conn:  # a tampered record refuses at once, before validating
            integrity.refuse_if_tampered(conn, "Publication")
        pipeline.step_validate(settings, target, run_id, echo=_echo)
        month = date.fromisoformat(f"{args.month}-01") if args.month else None
        result = publish.publish_month(
            target, run_id, month=month, published_by=f"{getpass.getuser()} (complaints-warehouse publish)"
        )
    _echo(result.message)
    return EXIT_OK


def cmd_verify(args, settings) -> int:
    """Check every publication's figures against its checksum and the publication chain; exit 5 naming
    each problem, or 0 with the chain's head (to keep, e.g. on the signed-off pack)."""
    from complaints_warehouse import integrity, pipeline
    from complaints_warehouse.warehouse import database

    target = pipeline.prepare(settings)
    with database.connect(target) as conn:
        problems = integrity.verify_publications(conn)
        head = integrity.chain_head(conn)
        count = conn.execute("select count(*) from published.bmmr_publications").fetchone()[0]
        anchored = integrity.head_known(conn, args.head) if args.head else True
    if args.head and not anchored:
        problems.append(
            integrity.Problem(
                None,
                None,
                f"the chain no longer contains {args.head}: the publication it headed, or one before it, "
                "was removed or changed",
            )
        )
    if problems:
        _echo(f"The published record has been tampered with: {len(problems)} problem(s):")
        for problem in problems:
            _echo(f"  - {problem}")
        return EXIT_TAMPERED
    if head is None:
        _echo("Nothing has been published yet: nothing to verify.")
    else:
        _echo(
            f"Verified {count} publication(s): every figure matches its checksum and the chain is unbroken. "
            f"Chain head: position {head[0]}, {head[1]}"
        )
    return EXIT_OK


def cmd_known_issue(args, settings) -> int:
    """Record, list or withdraw a signed-off known issue; or list the latest failures to sign off."""
    import getpass

    from complaints_warehouse import known_issues, pipeline
    from complaints_warehouse.warehouse import database

    target = pipeline.prepare(settings)
    recorded_by = f"{getpass.getuser()} (complaints-warehouse known-issue)"
    if args.action == "add":
        issue = known_issues.add(
            target,
            expectation=args.expectation,
            rows=[known_issues.parse_row(r) for r in args.row or []],
            reason=args.reason,
            signed_off_by=args.signed_off_by,
            expires_on=date.fromisoformat(args.expires),
            recorded_by=recorded_by,
        )
        _echo(
            f"Recorded known issue #{issue}: {args.expectation!r}, {len(args.row)} row(s), signed off by "
            f"{args.signed_off_by}, expires {args.expires}. The publication gate honours it from the next "
            "validation (`complaints-warehouse publish`)."
        )
    elif args.action == "withdraw":
        known_issues.withdraw(
            target, args.issue, reason=args.reason, signed_off_by=args.signed_off_by, recorded_by=recorded_by
        )
        _echo(f"Withdrew known issue #{args.issue}: it no longer covers any failure.")
    else:
        with database.connect(target) as conn:
            if args.action == "failures":
                _echo(known_issues.format_failures(*known_issues.latest_failures(conn)))
            else:
                _echo(known_issues.format_issues(known_issues.issues(conn, active_only=not args.all)))
    return EXIT_OK


def cmd_report(args, settings) -> int:
    """Write one report; prints the paths written. Nothing to report yet is a clear message, exit 1."""
    from complaints_warehouse import pipeline, reports
    from complaints_warehouse.reports import annual_report, bmmr_pack, ombudsman_benchmark

    if args.public and settings.suppression_threshold > 1:
        _echo(
            f"Public output: counts from 1 to {settings.suppression_threshold - 1} are suppressed "
            "(WAREHOUSE_SUPPRESSION_THRESHOLD)."
        )
    target = pipeline.prepare(settings)
    try:
        if args.report == "bmmr":
            month = date.fromisoformat(f"{args.month}-01") if args.month else None
            paths = bmmr_pack.write(settings, target, month=month, public=args.public)
        elif args.report == "annual":
            paths = annual_report.write(
                settings, target, year=args.year, procedure=args.procedure, public=args.public
            )
        else:
            paths = ombudsman_benchmark.write(settings, target, authority=args.authority, public=args.public)
    except reports.ReportUnavailable as exc:
        _echo(f"Not written: {exc}")
        return EXIT_FAILED
    for path in paths:
        _echo(str(path))
    return EXIT_OK


def cmd_explain(args, settings) -> int:
    """The cases behind a published BMMR figure (see complaints_warehouse.reports.bmmr_explain)."""
    from complaints_warehouse.reports import bmmr_explain

    return bmmr_explain.cli(args, settings, _echo)


def cmd_restatements(args, settings) -> int:
    from complaints_warehouse import pipeline, publish

    target = pipeline.prepare(settings)
    month = date.fromisoformat(f"{args.month}-01") if args.month else None
    _echo(publish.format_restatements(publish.restatements(target, month)))
    return EXIT_OK


def cmd_retention(args, settings) -> int:
    """Purge personal data past its retention period (or, with --dry-run, count what would go)."""
    import getpass

    from complaints_warehouse import pipeline

    target = pipeline.prepare(settings)
    pipeline.step_retention(
        settings,
        target,
        purged_by=f"{getpass.getuser()} (complaints-warehouse retention)",
        dry_run=args.dry_run,
        echo=_echo,
    )
    return EXIT_OK


def cmd_subject_access(args, settings) -> int:
    """Export everything held about one complainant to a JSON file, and record the export."""
    import getpass

    from complaints_warehouse import pipeline, subject_access

    target = pipeline.prepare(settings)
    try:
        export = subject_access.export_subject(
            target,
            args.subject,
            Path(args.out),
            pseudonym_key=settings.pseudonym_key(),
            exported_by=f"{getpass.getuser()} (complaints-warehouse subject-access)",
            force=args.force,
        )
    except subject_access.SubjectNotFound as exc:
        _echo(str(exc))
        return EXIT_FAILED
    _echo(
        f"Wrote {export.path} for complainant {export.pseudonym}: "
        + ", ".join(f"{section} {n}" for section, n in export.rows_by_section.items())
    )
    return EXIT_OK


def cmd_db(args, settings) -> int:
    from complaints_warehouse.warehouse import database, embedded_db

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


def _serve(args, settings) -> int:
    """Open the embedded warehouse to BI tools on a local TCP port, with the bi_reader login."""
    from complaints_warehouse.settings import SettingsError, role_password
    from complaints_warehouse.warehouse import database, embedded_db
    from complaints_warehouse.warehouse.roles import role_name

    if settings.warehouse_url:
        raise SettingsError(
            "db serve opens the embedded PostgreSQL; with WAREHOUSE_URL set, your server's own "
            "listen_addresses and pg_hba.conf decide who connects (BI logins: bi_reader, see docs/bi.md)."
        )
    if not role_password("bi_reader"):
        raise SettingsError(
            "db serve needs WAREHOUSE_BI_READER_PASSWORD: the password BI tools log in as bi_reader with "
            "(over TCP every login needs a password)."
        )
    target = database.resolve(settings)
    database.bootstrap(target)  # bi_reader gets its login and password
    try:
        embedded_db.serve(settings.embedded_dir, port=args.port, listen=args.listen)
    except Exception as exc:  # pg_ctl's own failure (the port in use...): its log says why
        raise database.WarehouseUnavailable(
            f"Could not open the embedded PostgreSQL on {args.listen}:{args.port}: {exc}. "
            f"Its log is {settings.embedded_dir / 'pgdata' / 'log'}."
        ) from exc
    _echo(
        f"Warehouse served on {args.listen}:{args.port} (until `complaints-warehouse db stop`): "
        f"host {args.listen}, port {args.port}, database {settings.database_name}, user {role_name('bi_reader')}, "
        "password WAREHOUSE_BI_READER_PASSWORD, SSL off (local only). Start with the marts and published schemas."
    )
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
    from complaints_warehouse import outputs, pipeline

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
    log = settings.outputs_dir / "logs" / f"{args.dag}-{logical_date}.log"
    _echo(f"Running DAG {args.dag} for {logical_date} with `airflow dags test`")
    command = [airflow, "dags", "test", args.dag, logical_date]
    if os.environ.get("VERBOSE", "").strip() not in ("", "0"):
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
        if log.exists() and os.environ.get("VERBOSE", "").strip() in ("", "0"):
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


def _month(value: str) -> str:
    try:
        date.fromisoformat(f"{value}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month like 2024-03") from None
    return value


def _day(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day like 2024-03-31") from None
    return value


def _financial_year(value: str) -> str:
    from complaints_warehouse.reports.formatting import financial_year_start

    try:
        financial_year_start(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaints-warehouse",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the whole pipeline now: load, transform, validate, publish, report")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="if another run is in progress, wait up to this long for it (default 0: exit 4 at once)",
    )
    p.set_defaults(handler=cmd_run)

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

    p = sub.add_parser("backfill", help="re-load one SQL source system's rows updated in a date range")
    p.add_argument("source", help="the configured source system, e.g. rms")
    p.add_argument("--start", required=True, type=_day, help="first day, YYYY-MM-DD")
    p.add_argument("--end", required=True, type=_day, help="last day, YYYY-MM-DD (inclusive)")
    p.set_defaults(handler=cmd_backfill)

    p = sub.add_parser("simulator", help="the simulated council case system the demo pulls from")
    p.add_argument("action", choices=["create", "advance", "status"])
    p.add_argument("--councils", type=int, default=1, help="create: how many councils (default 1)")
    p.add_argument("--start", default="2023-04-01", help="create: first day of cases (default 2023-04-01)")
    p.add_argument(
        "--until", default="2024-03-31", help="create: the system's current day (default 2024-03-31)"
    )
    p.add_argument("--seed", type=int, default=42, help="create: the random seed (default 42)")
    p.add_argument("--if-missing", action="store_true", help="create: keep an existing simulated system")
    p.add_argument("--days", type=int, default=1, help="advance: how many days (default 1)")
    p.set_defaults(handler=cmd_simulator)

    p = sub.add_parser("transform", help="build the warehouse with dbt (models, seeds and their tests)")
    p.add_argument("--select", help="a dbt selection, e.g. 'marts' or 'fct_representations+'")
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental facts from scratch (dbt --full-refresh)",
    )
    p.set_defaults(handler=cmd_transform)
    marts_wait = {
        "type": float,
        "default": 3600.0,
        "metavar": "SECONDS",
        "help": "if another command holds the marts (a run between its validation and publication, a build), "
        "wait up to this long (default 3600; 0: exit 4 at once)",
    }
    p.add_argument("--wait", **marts_wait)

    p = sub.add_parser("validate", help="run the Great Expectations checkpoint and write Data Docs")
    p.add_argument("--wait", **marts_wait)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser(
        "publish", help="validate, then publish (freeze) a month's BMMR; a changed month gets a new version"
    )
    p.add_argument("--month", type=_month, help="YYYY-MM (default: the latest complete month)")
    p.add_argument("--wait", **marts_wait)
    p.set_defaults(handler=cmd_publish)

    p = sub.add_parser(
        "verify",
        help="check every published figure against its checksum and the publication chain (exit 5 if tampered)",
    )
    p.add_argument(
        "--head", metavar="HASH", help="a chain head printed earlier (verify, a BMMR pack): still there?"
    )
    p.set_defaults(handler=cmd_verify)

    p = sub.add_parser(
        "known-issue",
        help="signed-off validation failures the publication gate lets through: add, list, withdraw, failures",
        description="A known issue lets publication go on despite a failed expectation, for the failing rows "
        "it names, until it expires or is withdrawn; the BMMR pack shows it. See docs/publication.md.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="record a signed-off known issue")
    a.add_argument("--expectation", required=True, help="the expectation's name, as validation reports it")
    a.add_argument(
        "--row",
        action="append",
        required=True,
        metavar="COLUMN=VALUE[,COLUMN=VALUE]",
        help="a failing row it covers (repeat for each; `known-issue failures` prints them), or a JSON object",
    )
    a.add_argument("--reason", required=True, help="why publication may go on despite it")
    a.add_argument("--signed-off-by", required=True, help="who signed it off (name and role)")
    a.add_argument(
        "--expires", required=True, type=_day, help="YYYY-MM-DD: from this day on it no longer covers"
    )
    w = actions.add_parser("withdraw", help="withdraw a known issue (recorded; it stops covering at once)")
    w.add_argument("issue", type=int, help="the issue's number (#N in `known-issue list`)")
    w.add_argument("--reason", required=True)
    w.add_argument("--signed-off-by", required=True)
    li = actions.add_parser("list", help="the active known issues (--all: expired and withdrawn too)")
    li.add_argument("--all", action="store_true")
    actions.add_parser(
        "failures", help="the latest failed validation's expectations and rows, ready for `add`"
    )
    p.set_defaults(handler=cmd_known_issue)

    p = sub.add_parser("restatements", help="print every published BMMR figure a later version restated")
    p.add_argument("--month", type=_month, help="only this month, YYYY-MM")
    p.set_defaults(handler=cmd_restatements)

    p = sub.add_parser(
        "retention",
        help="purge complainants' personal data past its retention period (WAREHOUSE_RETENTION_YEARS)",
    )
    p.add_argument("action", choices=["purge"])
    p.add_argument(
        "--dry-run", action="store_true", help="count what would be purged (recorded), change nothing"
    )
    p.set_defaults(handler=cmd_retention)

    p = sub.add_parser(
        "subject-access", help="export everything held about one complainant (subject-access request) to JSON"
    )
    p.add_argument("subject", help="the case system's complainant reference, or the complainant's pseudonym")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the JSON file to write, new, readable by you only (personal data: keep it safe)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace FILE if it exists (with a new file readable by you only)",
    )
    p.set_defaults(handler=cmd_subject_access)

    p = sub.add_parser(
        "report",
        help="write a report (self-contained HTML in outputs/reports/): bmmr, annual or ombudsman",
        description="Write a report as one self-contained HTML page under outputs/reports/ (the annual "
        "report also as CSV). --public suppresses small numbers (WAREHOUSE_SUPPRESSION_THRESHOLD, default 5).",
    )
    reports = p.add_subparsers(dest="report", required=True, metavar="REPORT")
    r = reports.add_parser("bmmr", help="the BMMR pack of a published month (published figures only)")
    r.add_argument("--month", type=_month, help="YYYY-MM (default: the latest published month)")
    r = reports.add_parser("annual", help="the statutory annual report of a financial year, and its CSV")
    r.add_argument("--year", type=_financial_year, help="e.g. 2023/24 (default: the latest complete year)")
    r.add_argument(
        "--procedure",
        default="all",
        help="corporate, childrens_statutory, childrens_non_statutory, adults_statutory, or all (default)",
    )
    r = reports.add_parser(
        "ombudsman", help="the Ombudsman benchmark against similar authorities, and reconciliation"
    )
    r.add_argument(
        "--authority",
        help="the council, a name or ONS code (default: WAREHOUSE_COUNCIL, else every authority held)",
    )
    for r in reports.choices.values():
        r.add_argument("--public", action="store_true", help="for publication: suppress small numbers")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser(
        "bench",
        help="national-scale benchmark: load vs bare COPY and to_sql, dbt build, validation, our night vs a "
        "naive peer, peak memory; writes bench-results.json",
    )
    p.add_argument("--councils", type=int, default=300, help="simulated councils (default 300)")
    p.add_argument("--years", type=int, default=10, help="financial years of cases (default 10)")
    p.add_argument(
        "--templates",
        type=int,
        default=10,
        help="councils simulated in Python; the rest are copies of them made in SQL (default 10)",
    )
    p.add_argument(
        "--load-only", action="store_true", help="only the load benchmark, on about --representations cases"
    )
    p.add_argument(
        "--representations",
        type=int,
        default=1_000_000,
        help="cases for --load-only and --incremental-only (default 1,000,000)",
    )
    p.add_argument("--dags-only", action="store_true", help="only time the parsing of the DAG files")
    p.add_argument(
        "--validation-only",
        action="store_true",
        help="time the parsing of the DAG files and the GX checkpoint next to dbt build, not the load",
    )
    p.add_argument(
        "--incremental-only",
        action="store_true",
        help="time the parsing of the DAG files and the nightly dbt build, full then incremental, not the load",
    )
    p.add_argument(
        "--another-night",
        action="store_true",
        help="after a national run: another 0.5 %% change and our night on its warehouse, with this code",
    )
    p.set_defaults(handler=cmd_bench)

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

    p = sub.add_parser(
        "explain",
        help="the pseudonymous cases behind a published BMMR figure, and the month's cases CSV",
        description="List the cases behind one published BMMR figure (a count is the number of its cases, "
        "a sum of money their amounts, a percentage the ratio of two listed counts) and write every figure of "
        "the month, case by case, to outputs/reports/bmmr-pack-<month>-cases.csv (internal). Exit 1 when the "
        "cases no longer add up to the published figure (the marts moved since publication).",
    )
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM, a published month")
    p.add_argument("--measure", required=True, help="a BMMR measure, e.g. complaints_received")
    p.add_argument("--period", default="month", choices=("month", "financial_year_to_date"))
    p.add_argument("--directorate", help="one directorate (default: all)")
    p.add_argument("--procedure", help="one procedure code (default: all)")
    p.add_argument(
        "--limit", type=int, default=200, help="cases printed at most (default 200; all in the CSV)"
    )
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("airflow-run", help="run a DAG end to end through Airflow (airflow dags test)")
    p.add_argument("--dag", default="case_system_nightly", help="the DAG id (default: case_system_nightly)")
    p.add_argument("--date", help="the logical date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=cmd_airflow_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from complaints_warehouse.integrity import TamperingDetected
    from complaints_warehouse.outputs import OutputExists, OutputNotWritten
    from complaints_warehouse.publish import PublicationRefused
    from complaints_warehouse.settings import SettingsError, load_settings
    from complaints_warehouse.transform import TransformFailed
    from complaints_warehouse.validate import ValidationFailed
    from complaints_warehouse.warehouse.database import WarehouseUnavailable
    from complaints_warehouse.warehouse.locks import WarehouseBusy
    from ingestion.copy_loader import RefusedFile
    from ingestion.identifiers import UnsafeIdentifier
    from ingestion.source_config import SourceConfigError

    try:
        return args.handler(args, load_settings())
    except (
        SettingsError,
        WarehouseUnavailable,
        SourceConfigError,
        UnsafeIdentifier,
        OutputNotWritten,
        OutputExists,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETTINGS
    except RefusedFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except TamperingDetected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_TAMPERED
    except (TransformFailed, ValidationFailed, PublicationRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
