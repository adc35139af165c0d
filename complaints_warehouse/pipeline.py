"""The pipeline: each step a plain function, called the same way by the CLI and by the Airflow DAGs.

    prepare -> load (each source) -> transform (dbt build) -> validate (GX checkpoint) -> publish -> report

The report step writes the run's summary and the reports people look at (``reports/``: the BMMR pack
of the published month, the annual report, the Ombudsman benchmark) to ``outputs/``.

Publish freezes the latest complete month's BMMR (see ``publish``); it runs only after a validation
that passed (or whose failures signed-off known issues cover), so a failed expectation leaves the
previously published figures as they were. A run holds the marts (``locks.marts_lock``) from its
transform to its publication: a build started meanwhile (``complaints-warehouse transform``, another
DAG's) waits, and publication publishes exactly the figures its validation validated (``integrity``).

A run is recorded in ``audit.pipeline_runs``; every load in ``audit.load_batches``; every expectation
in ``audit.validation_results``. Steps return plain dicts so Airflow can pass them between tasks.

Crash safety: one run at a time (``locks.run_lock``); each batch, dbt model and publication commits
whole or not at all; a run killed at any point is found by the next (``recovery``), which marks its
batch and run abandoned and converges to the same marts and publication (tests/test_crash_safety.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from psycopg.types.json import Jsonb

from complaints_warehouse import fault_points, load, outputs, publish, reports, transform, validate
from complaints_warehouse.settings import Settings, SettingsError
from complaints_warehouse.warehouse import database, recovery, roles
from complaints_warehouse.warehouse.bootstrap import bootstrap, is_set_up, record_set_up, set_up_stamp
from complaints_warehouse.warehouse.database import Connection
from complaints_warehouse.warehouse.locks import marts_lock, run_lock
from ingestion import ledger, raw_tables

Echo = Callable[[str], None]


def new_run_id(driver: str) -> str:
    return f"{driver}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"


def prepare(settings: Settings, target: Connection | None = None, *, once: bool = False) -> Connection:
    """Find (or start) the warehouse, unless given, and make sure its schemas, audit tables, roles and raw
    tables exist. ``once``: skip that when the last set-up was of the same code, contracts and roles (an
    Airflow task: the set-up runs in the first task after a change, not at the start of every task)."""
    target = target or database.resolve(settings)
    contracts = [t for tables in load.SOURCES.values() for t in tables]
    # The raw tables' code and contracts, and the day: the set-up (with its sweep of grants taken back)
    # runs again after any change, and at least once a day whatever was done by hand in between.
    stamp = set_up_stamp(
        target,
        Path(raw_tables.__file__).read_text(),
        f"day {datetime.now(UTC):%Y-%m-%d}",
        *(repr(contract) for contract in contracts),
    )
    if once and is_set_up(target, stamp):
        return target
    bootstrap(target)
    # The loader owns the raw tables: it creates them, and extends them when a contract gains a column.
    with database.connect(roles.as_role(target, roles.LOADER), autocommit=True) as conn:
        raw_tables.ensure_all(conn, contracts)
    record_set_up(target, stamp)
    return target


def start_run(target: Connection, run_id: str, driver: str) -> None:
    with database.connect(target) as conn:
        conn.execute(
            "insert into audit.pipeline_runs (run_id, driver, status) values (%s, %s, 'running') "
            "on conflict (run_id) do update set status = 'running', started_at = clock_timestamp(), "
            "finished_at = null",
            (run_id, driver),
        )


def mark_step(target: Connection, run_id: str, step: str, *, finished: bool = False) -> None:
    """Note the step a run has begun (or ``finished``), so that a run that dies says where (``recovery``)."""
    with database.connect(target) as conn:
        conn.execute(
            "update audit.pipeline_runs set summary = summary || case when %(finished)s "
            "then jsonb_build_object('finished', coalesce(summary->'finished', '[]') || to_jsonb(%(step)s::text)) "
            "else jsonb_build_object('step', %(step)s::text) end where run_id = %(run)s",
            {"finished": finished, "step": step, "run": run_id},
        )


def recover(target: Connection, run_id: str, *, echo: Echo = print) -> list[str]:
    """Mark the batches and runs a killed process left 'running' as abandoned (see ``recovery``)."""
    # One transaction: a dead entry's lock, tried here, is held only until it commits.
    with database.connect(target) as conn:
        found = ledger.mark_abandoned_batches(conn, run_id) + recovery.mark_abandoned_runs(conn, run_id)
    if found:
        echo("Found the remains of an interrupted run (nothing of them was kept):")
        for line in found:
            echo(line)
    return found


def finish_run(target: Connection, run_id: str, status: str, summary: dict) -> None:
    with database.connect(target) as conn:
        conn.execute(
            "update audit.pipeline_runs set status = %s, finished_at = clock_timestamp(), summary = %s "
            "where run_id = %s",
            (status, Jsonb(summary), run_id),
        )


def progress_printer(
    echo: Echo, label: str, every_s: float = 1.0, quiet_s: float = 2.0
) -> Callable[[int, int], None]:
    """Report a long load's progress once a second; a load that ends within ``quiet_s`` stays quiet."""
    started, last = time.monotonic(), [0.0]

    def report(done: int, total: int) -> None:
        if done == 0:  # a COPY begins
            return
        now = time.monotonic()
        if now - started >= quiet_s and ((total and done >= total) or now - last[0] >= every_s):
            last[0] = now
            rate = done / 1e6 / (now - started)
            if total:  # a file: its size is known
                echo(
                    f"  {label}: {100 * done / total:5.1f}% ({done / 1e6:.1f} of {total / 1e6:.1f} MB, {rate:.1f} MB/s)"
                )
            else:  # a source database's rows: no total to be a percentage of
                echo(f"  {label}: {done / 1e6:.1f} MB so far ({rate:.1f} MB/s)")

    return report


def _echo_batches(results, echo: Echo) -> None:
    for r in results:
        if r.status == "skipped":
            echo(f"  {r.table}: skipped, {r.message}")
        else:
            extra = f"; {r.message}" if r.message else ""
            deleted = f", {r.rows_deleted} deleted at source" if r.rows_deleted else ""
            echo(
                f"  {r.table}: {r.rows_in} rows in = {r.rows_loaded} loaded + {r.rows_quarantined} quarantined "
                f"(batch {r.batch_id}{deleted}){extra}"
            )


def step_load(
    settings: Settings, target: Connection, source: str, *, reload: bool = False, echo: Echo = print
) -> list[dict]:
    """Load a folder of contract-shaped files (``<table>.csv``): the Ombudsman data, or an ad hoc extract."""
    folder = settings.source_dir(source)
    echo(f"Loading {source} from {folder}")
    results = load.load_source(
        target,
        source,
        folder,
        reload=reload,
        progress=progress_printer(echo, source),
        pseudonym_key=settings.pseudonym_key() if source == "case_system" else None,
    )
    _echo_batches(results, echo)
    return [r.as_dict() for r in results]


def step_load_source_system(
    settings: Settings, target: Connection, config, *, window=None, echo: Echo = print
) -> list[dict]:
    """Load one configured source system (``ingestion/sources/*.yml``): incremental, or a backfill window."""
    how = f"backfill {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}" if window else "incremental"
    echo(f"Loading source system {config.source_system} ({config.adapter}, {how}) from {config.path.name}")
    results = load.load_source_system(
        settings, target, config, window=window, progress=progress_printer(echo, config.source_system)
    )
    _echo_batches(results, echo)
    return [r.as_dict() for r in results]


def step_load_case_systems(
    settings: Settings, target: Connection, *, only: str | None = None, window=None, echo: Echo = print
) -> list[dict]:
    """Every configured case-system source in order (or ``only`` the one named), incrementally or, with
    ``window``, as a backfill of (start, end]."""
    configs = [c for c in load.load_source_configs(settings) if only in (None, c.source_system)]
    if only and not configs:
        raise SettingsError(f"No configured source system is called {only!r} (see WAREHOUSE_SOURCES).")
    return [
        b for c in configs for b in step_load_source_system(settings, target, c, window=window, echo=echo)
    ]


def step_transform(
    settings: Settings,
    target: Connection,
    *,
    select: str | None = None,
    full_refresh: bool = False,
    unit_tests: bool = False,
    echo: Echo = print,
) -> dict:
    """``dbt source freshness`` (a source past its error threshold stops here, before the build), then
    ``dbt build`` (of ``select`` only, when given; ``full_refresh`` rebuilds the incremental facts;
    ``unit_tests`` adds dbt's unit tests, which check the code on fixed inputs: dbt's guidance is to run
    them in development and CI, where the suite does, not on each night's production build).

    The night's build tests only the fact rows it recomputed (the rest were tested, unchanged, by the
    build that wrote them); a first build and a full refresh recompute, and so test, every row."""
    scope = f" ({select})" if select else ""
    with transform.DbtSession(settings, target) as dbt:  # one dbt process for both commands
        echo(f"Checking source freshness{scope}")
        freshness = transform.check_freshness(
            settings, target, select=select, test_recomputed_rows_only=True, echo=echo, session=dbt
        )
        echo(f"Building the warehouse with dbt{scope}" + (", full refresh" if full_refresh else ""))
        built = transform.build(
            settings,
            target,
            select=select,
            full_refresh=full_refresh,
            test_recomputed_rows_only=True,
            unit_tests=unit_tests,
            echo=echo,
            session=dbt,
        ).as_dict()
    database.analyze_unanalyzed(target)  # before validation and publication read them
    return {**built, "freshness": freshness.as_dict()}


def step_validate(
    settings: Settings, target: Connection, run_id: str, *, checkpoint: str = "nightly", echo: Echo = print
) -> dict:
    echo(f"Validating with Great Expectations (checkpoint '{checkpoint}')")
    summary = validate.run_checkpoint(settings, target, run_id, checkpoint)
    echo(f"  {summary.passed} of {summary.evaluated} expectations passed; Data Docs: {summary.data_docs}")
    for covered in summary.covered:
        issues = ", ".join(f"#{i}" for i in covered["known_issues"])
        echo(f"  failed, covered by known issue(s) {issues}: {covered['expectation']}")
    return summary.as_dict()


def step_publish(
    settings: Settings, target: Connection, run_id: str, *, published_by: str, echo: Echo = print
) -> dict:
    """Publish the latest complete month's BMMR from this (validated) run: a new version only when the
    figures changed, with restatements of what changed."""
    echo("Publishing the BMMR")
    result = publish.publish_month(target, run_id, published_by=published_by)
    echo(f"  {result.message}")
    database.analyze_unanalyzed(target)  # a first publication's tables, before the reports read them
    return result.as_dict()


def step_retention(
    settings: Settings, target: Connection, *, purged_by: str, dry_run: bool = False, echo: Echo = print
) -> dict:
    """Purge complainants' personal data past its retention period (``WAREHOUSE_RETENTION_YEARS`` after
    their last case closed), recorded in ``audit.retention_purges``; ``dry_run`` only counts."""
    from complaints_warehouse import retention

    years = settings.retention_years()
    result = retention.purge_expired(target, purged_by=purged_by, years=years, dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    echo(
        f"Retention ({result.retention_years} years, cutoff {result.cutoff}): {verb} "
        f"{result.complainants} complainant(s); rows: "
        + ", ".join(f"{table} {n}" for table, n in result.rows_by_table.items())
    )
    return result.as_dict()


def step_reports(
    settings: Settings,
    target: Connection,
    *,
    which: tuple[str, ...] = reports.REPORTS,
    public: bool = False,
    echo: Echo = print,
) -> dict[str, str]:
    """Write the reports (the BMMR pack of the latest published month, the annual report of the latest
    complete financial year, the Ombudsman benchmark) to ``outputs/reports/``; {name: path}.
    A report with nothing to show yet (no month published) is skipped with the reason printed."""
    echo("Writing the reports")
    return reports.write_reports(settings, target, which=which, public=public, echo=echo)


def step_report(
    settings: Settings,
    target: Connection,
    run_id: str,
    summary: dict,
    *,
    write_reports: bool = True,
    echo: Echo = print,
) -> dict:
    """Write the reports (unless ``write_reports`` is false, e.g. when a task before wrote them) and the
    run's summary to ``outputs/`` and the audit schema; print the one-line summary."""
    path = settings.outputs_dir / "last-run.json"
    docs = transform.generate_docs(settings, target) if settings.write_docs else None
    written = step_reports(settings, target, echo=echo) if write_reports else {}
    summary = {
        **summary,
        "run_id": run_id,
        "outputs": {
            "summary": str(path),
            "data_docs": str(settings.data_docs_dir / "index.html"),
            "dbt_docs": str(docs) if docs else "not written (WAREHOUSE_DOCS=0)",
            "reports": {**summary.get("reports", {}), **written},
        },
    }
    outputs.write_atomic(path, json.dumps(summary, indent=2, default=str))
    finish_run(target, run_id, "succeeded", summary)
    echo(one_line(summary))
    return summary


def one_line(summary: dict) -> str:
    loads = summary.get("loads", [])
    rows_in = sum(b["rows_in"] for b in loads)
    quarantined = sum(b["rows_quarantined"] for b in loads)
    loaded_batches = sum(b["status"] == "loaded" for b in loads)
    skipped = sum(b["status"] == "skipped" for b in loads)
    dbt = summary.get("transform", {}).get("counts", {})
    gx = summary.get("validation", {})
    stale = summary.get("transform", {}).get("freshness", {}).get("warnings", [])
    return (
        f"Run {summary.get('run_id')}: loaded {rows_in} rows in {loaded_batches} batches "
        f"({quarantined} quarantined, {skipped} files unchanged); "
        f"dbt build {sum(dbt.values())} nodes ok; "
        + (f"freshness warnings: {'; '.join(stale)}; " if stale else "")
        + f"{gx.get('passed', 0)}/{gx.get('evaluated', 0)} expectations passed; "
        + (
            f"Ombudsman benchmark NOT validated ({len(gx.get('ombudsman_failed', []))} of the Ombudsman's "
            "own expectations failed: figures flagged in marts.fct_ombudsman_annual_statistics); "
            if gx.get("ombudsman_gate") == "failed"
            else ""
        )
        + f"BMMR: {summary.get('publication', {}).get('message', 'not published')}; "
        f"Data Docs {summary.get('outputs', {}).get('data_docs', '')}"
    )


def run_all(
    settings: Settings,
    *,
    driver: str = "cli",
    run_id: str | None = None,
    wait_s: float = 0.0,
    echo: Echo = print,
) -> dict:
    """The whole pipeline, once. Raises on the first failing step, after recording the failure.

    Another run in progress: waits up to ``wait_s`` seconds, then raises ``locks.RunInProgress``
    having changed nothing. Each step boundary is a fault point (``fault_points``) for the crash tests."""
    run_id = run_id or new_run_id(driver)
    target = database.resolve(settings)
    echo(f"Warehouse: {target.display}")
    # The lock first: a second run learns at once that it must wait, not after its DDL queued behind ours.
    with run_lock(target, run_id, wait_s=wait_s, echo=echo):
        prepare(settings, target)
        recover(target, run_id, echo=echo)
        start_run(target, run_id, driver)
        summary: dict = {"loads": []}

        def step(name: str, work: Callable[[], object]):
            mark_step(target, run_id, name)
            done = work()
            mark_step(target, run_id, name, finished=True)
            fault_points.reached(f"after-{name}")
            return done

        def load_everything() -> list[dict]:
            # Into the summary as each source finishes, so that a failed run still says what it loaded.
            summary["loads"] += step_load_case_systems(settings, target, echo=echo)
            summary["loads"] += step_load(settings, target, "reference", echo=echo)
            summary["loads"] += step_load(settings, target, "ombudsman", echo=echo)
            return summary["loads"]

        published_by = f"complaints-warehouse {driver} run"
        try:
            step("load", load_everything)
            # The marts held from the build to the publication: nothing changes them in between, so
            # what is published is what was validated (``locks.marts_lock``, ``integrity``).
            with marts_lock(target, purpose=f"run {run_id}", echo=echo):
                summary["transform"] = step("transform", lambda: step_transform(settings, target, echo=echo))
                summary["validation"] = step(
                    "validate", lambda: step_validate(settings, target, run_id, echo=echo)
                )
                summary["publication"] = step(
                    "publish",
                    lambda: step_publish(settings, target, run_id, published_by=published_by, echo=echo),
                )
            mark_step(target, run_id, "report")
            # Inside: a report or summary that cannot be written (a full or read-only outputs folder)
            # fails the run, recorded as such, rather than leaving it 'running'.
            return step_report(settings, target, run_id, summary, echo=echo)
        except Exception as exc:
            finish_run(target, run_id, "failed", {**summary, "error": str(exc)})
            raise


def output_paths(settings: Settings) -> dict[str, Path]:
    """Where the last run's outputs are: the summary, Data Docs, dbt docs and the reports it wrote."""
    paths = {
        "run summary": settings.outputs_dir / "last-run.json",
        "Data Docs": settings.data_docs_dir / "index.html",
        "dbt docs (the warehouse's models, columns and lineage)": settings.outputs_dir / "dbt-docs.html",
    }
    summary = paths["run summary"]
    if summary.exists():
        try:
            written = json.loads(summary.read_text()).get("outputs", {}).get("reports", {})
        except ValueError:
            written = {}
        paths.update({name: Path(path) for name, path in written.items()})
    return paths
