"""What the Airflow DAGs call: each task is one line in ``dags/`` and a function here.

Importing this module is cheap (the DAG processor imports it while parsing): everything heavy is imported
inside the functions, when a task runs. The functions take Airflow's task context and call the same
pipeline steps as the command line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

Context = dict[str, Any]

#: Transient failures (a dropped connection, a server restarting) are retried with back-off; a failure
#: that another try cannot fix (bad input, a failed expectation) fails at once: see ``fail_fast``.
DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}

#: Manual runs (Trigger DAG w/ config): which source, which window, a full rebuild.
PARAM_HELP = {
    "source": "A configured source system to load (e.g. rms), or 'all'.",
    "start": "Backfill from this day (YYYY-MM-DD), with end; empty: incremental from the high-water mark.",
    "end": "Backfill up to and including this day (YYYY-MM-DD).",
    "full_refresh": "Rebuild incremental dbt models from scratch.",
}


WAREHOUSE_CONNECTION_ID = "complaints_warehouse"


def warehouse_url_from_airflow() -> str | None:
    """The Airflow connection ``complaints_warehouse`` (from ``AIRFLOW_CONN_COMPLAINTS_WAREHOUSE`` or the
    UI), as a URL; None when Airflow has no such connection."""
    try:
        from airflow.sdk import Connection

        connection = Connection.get(WAREHOUSE_CONNECTION_ID)
    except Exception:  # not defined (or not running inside Airflow): fall back to the project's settings
        return None
    return connection.get_uri()


def _warehouse():
    """The pipeline, the settings (the warehouse and role passwords from Airflow's connections when the
    environment has none) and the warehouse, set up only if it changed since its last set-up."""
    import dataclasses

    from complaints_warehouse import pipeline
    from complaints_warehouse.settings import load_settings

    settings = load_settings()
    if not settings.warehouse_url:
        url = warehouse_url_from_airflow()
        if url:
            settings = dataclasses.replace(settings, warehouse_url=url)
    settings = dataclasses.replace(
        settings, roles=settings.roles.with_passwords(role_passwords_from_airflow())
    )
    return pipeline, settings, pipeline.prepare(settings, once=True)


def role_passwords_from_airflow() -> dict[str, str]:
    """The loader's and transformer's passwords from the Airflow connections
    ``complaints_warehouse_loader`` / ``complaints_warehouse_transformer`` (for the roles whose
    ``WAREHOUSE_<JOB>_PASSWORD`` is unset: ``RoleLogins.with_passwords`` keeps the environment's first)."""
    from complaints_warehouse.warehouse import roles

    passwords = {}
    for job in (roles.LOADER, roles.TRANSFORMER):
        try:
            from airflow.sdk import Connection

            password = Connection.get(f"{WAREHOUSE_CONNECTION_ID}_{job}").password
        except Exception:  # no such connection: the role is reached by SET ROLE from the owner's login
            continue
        if password:
            passwords[job] = password
    return passwords


def retention(context: Context) -> dict:
    """Purge personal data past its retention period (the same step as ``complaints-warehouse retention
    purge``); the run's ``dry_run`` param only counts what would go."""
    pipeline, settings, target = _warehouse()
    dry_run = bool((context.get("params") or {}).get("dry_run"))
    dag_id = context["dag"].dag_id if context.get("dag") is not None else "airflow"
    return _run(
        lambda: pipeline.step_retention(settings, target, purged_by=f"airflow {dag_id}", dry_run=dry_run)
    )


def fail_fast(error: Exception) -> Exception:
    """The exception to raise for ``error``: Airflow's fail-now for errors a retry cannot fix
    (``errors.PermanentError``; the CLI's exit codes map by the same classes), the error itself otherwise."""
    from airflow.sdk.exceptions import AirflowFailException

    from complaints_warehouse.errors import is_permanent

    if is_permanent(error):
        return AirflowFailException(str(error))
    return error


def _run(step):
    try:
        return step()
    except Exception as error:
        raise fail_fast(error) from error


def load_window(context: Context):
    """The window a run loads: the params' (start, end], a backfill run's data interval, or None
    (incremental from the high-water mark)."""
    from datetime import UTC, date, datetime, time

    params = context.get("params") or {}
    if params.get("start") and params.get("end"):
        start = datetime.combine(date.fromisoformat(params["start"]), time.min, tzinfo=UTC)
        end = datetime.combine(date.fromisoformat(params["end"]), time.max, tzinfo=UTC)
        return start, end
    run = context.get("dag_run")
    if run is not None and str(getattr(run, "run_type", "")).lower().endswith("backfill"):
        return context["data_interval_start"], context["data_interval_end"]
    return None


def start(context: Context) -> str:
    """Open the run in audit.pipeline_runs; returns the run id the other tasks record against. Refuses a
    great_expectations other than the pinned minor version first (``gx_pin``): before anything is loaded."""
    from complaints_warehouse.gx_pin import require_pinned_gx

    _run(require_pinned_gx)
    pipeline, _, target = _warehouse()
    pipeline.recover(target, context["run_id"])  # batches and CLI runs a killed process left behind
    pipeline.start_run(target, context["run_id"], "airflow")
    return context["run_id"]


def load_case_systems(context: Context) -> list[dict]:
    pipeline, settings, target = _warehouse()
    source = (context.get("params") or {}).get("source") or "all"
    only = None if source == "all" else source
    return _run(
        lambda: pipeline.step_load_case_systems(settings, target, only=only, window=load_window(context))
    )


def load_folder(context: Context, source: str) -> list[dict]:
    """The reference or Ombudsman folder."""
    pipeline, settings, target = _warehouse()
    return _run(lambda: pipeline.step_load(settings, target, source))


def transform(context: Context, select: str | None = None) -> dict:
    pipeline, settings, target = _warehouse()
    full_refresh = bool((context.get("params") or {}).get("full_refresh"))
    return _run(lambda: pipeline.step_transform(settings, target, select=select, full_refresh=full_refresh))


def validate(context: Context, checkpoint: str = "nightly") -> dict:
    pipeline, settings, target = _warehouse()
    return _run(lambda: pipeline.step_validate(settings, target, context["run_id"], checkpoint=checkpoint))


def publish(context: Context, validation_run_id: str | None = None) -> dict:
    """Freeze the latest complete month's BMMR; runs only downstream of a validation that passed (this
    run's, or ``validation_run_id``'s: the nightly's, which ``bmmr_monthly`` reuses)."""
    pipeline, settings, target = _warehouse()
    dag_id = context["dag"].dag_id if context.get("dag") is not None else "airflow"
    run_id = validation_run_id or context["run_id"]
    return _run(lambda: pipeline.step_publish(settings, target, run_id, published_by=f"airflow {dag_id}"))


#: The key of a marts asset event's extra that names the validation the marts passed.
VALIDATION_EXTRA = "validation"


def announce_validation(context: Context, asset, validation: dict) -> dict:
    """Put the validation this run's marts passed in the extra of ``asset``'s event (the task must have it
    as an outlet): ``{"validation": {"run_id", "checkpoint", "checksums": {month: checksum}}}``, the
    checksums being those ``integrity`` recorded as the checkpoint began. ``bmmr_monthly`` publishes from
    that validation instead of running the checkpoint again (``validation_to_reuse``)."""
    from complaints_warehouse.warehouse import database

    _, _, target = _warehouse()
    run_id = validation.get("run_id") or context["run_id"]
    with database.connect(target) as conn:
        checksums = dict(
            conn.execute(
                "select to_char(report_month, 'YYYY-MM-DD'), checksum from audit.validated_figures "
                "where run_id = %s order by 1",
                (run_id,),
            ).fetchall()
        )
    extra = {
        VALIDATION_EXTRA: {
            "run_id": run_id,
            "checkpoint": validation.get("checkpoint"),
            "checksums": checksums,
        }
    }
    context["outlet_events"][asset].extra = extra
    return extra


def latest_event_extra(context: Context, asset) -> dict | None:
    """The extra of ``asset``'s latest event (the task must have it as an inlet), or None when the asset
    has no event yet."""
    events = context["inlet_events"][asset].ascending(False).limit(1)
    return dict(events[0].extra or {}) if len(events) else None


def validation_to_reuse(context: Context, extra: dict | None) -> tuple[str | None, str]:
    """(the run id of a validation the marts as they are now passed, or None; why). Reusable: a nightly
    checkpoint's validation named in the marts event's ``extra`` that passed (beyond what unexpired known
    issues cover) and whose recorded checksum of the latest complete month is the marts' checksum now
    (``integrity.validated_checksum_refusal``: nothing was built since)."""
    from complaints_warehouse import integrity, publish
    from complaints_warehouse.validate import CHECKPOINT
    from complaints_warehouse.warehouse import database

    validation = (extra or {}).get(VALIDATION_EXTRA) or {}
    run_id = validation.get("run_id")
    if not run_id:
        return None, "the marts' latest asset event names no validation"
    if validation.get("checkpoint") != CHECKPOINT:
        return (
            None,
            f"validation {run_id} ran checkpoint {validation.get('checkpoint')!r}, not {CHECKPOINT!r}",
        )
    _, _, target = _warehouse()
    with database.connect(target) as conn:
        # The event's extra is a claim (anyone who may create an asset event can write it): the audit
        # records say which checkpoints the run really ran.
        [ran] = conn.execute(
            "select coalesce(array_agg(distinct checkpoint order by checkpoint), '{}') "
            "from audit.validation_results where run_id = %s",
            (run_id,),
        ).fetchone()
        if ran and list(ran) != [CHECKPOINT]:  # none at all: failed_validation says so below
            return None, f"validation {run_id} recorded the checkpoints {list(ran)}, not only {CHECKPOINT!r}"
        refusal = publish.failed_validation(conn, run_id)
        if refusal:
            return None, refusal
        month = publish.latest_complete_month(conn)
        if month is None:
            return run_id, "no complete month to publish yet"
        # The month's cells and checksum exactly as publication computes them.
        _, checksum = publish._stage_figures(conn, month)
        refusal = integrity.validated_checksum_refusal(conn, run_id, month, checksum)
        if refusal:
            return None, refusal
    return run_id, f"the marts are those validation {run_id} validated ({month:%Y-%m} checksum {checksum})"


def validate_or_reuse(context: Context, asset) -> dict:
    """``bmmr_monthly``'s validation: the nightly's, read from the marts' latest asset event, when the marts
    are still those it validated; otherwise (no such event, another checkpoint's, or the marts changed
    since) the checkpoint again, saying why in the task's log."""
    import logging

    log = logging.getLogger(__name__)
    run_id, why = validation_to_reuse(context, latest_event_extra(context, asset))
    if run_id is None:
        log.warning("Running the checkpoint again: %s", why)
        return {**validate(context), "reused": False, "reuse_refused": why}
    log.info("Publishing from validation %s, not validating again: %s", run_id, why)
    from complaints_warehouse.warehouse import database

    _, _, target = _warehouse()
    with database.connect(target) as conn:
        evaluated, passed = conn.execute(
            "select count(*), count(*) filter (where success) from audit.validation_results where run_id = %s",
            (run_id,),
        ).fetchone()
    return {
        "run_id": run_id,
        "checkpoint": "nightly",
        "evaluated": evaluated,
        "passed": passed,
        "reused": True,
        "reason": why,
    }


def bmmr_pack(context: Context) -> dict[str, str]:
    """Write the BMMR pack of the latest published month (after ``publish``); {name: path}, or nothing
    (with the reason in the log) when no month is published yet."""
    pipeline, settings, target = _warehouse()
    return _run(lambda: pipeline.step_reports(settings, target, which=("bmmr",)))


def report(
    context: Context,
    loads: list[dict],
    transformed: dict,
    validation: dict,
    publication: dict | None = None,
    reports: dict[str, str] | None = None,
) -> dict:
    """The run's summary; writes the reports too, unless a task before wrote them (``reports``)."""
    pipeline, settings, target = _warehouse()
    summary = {"loads": loads, "transform": transformed, "validation": validation}
    if publication is not None:
        summary["publication"] = publication
    if reports is not None:
        summary["reports"] = reports
    return pipeline.step_report(settings, target, context["run_id"], summary, write_reports=reports is None)


def ombudsman_files_waiting(context: Context) -> bool:
    """The on-arrival DAG's gate: true on the monthly run (the first hour of a month), or when the
    Ombudsman or reference folder holds a file never loaded, or changed since it was last loaded."""
    from datetime import UTC, datetime

    from complaints_warehouse.warehouse import database

    pipeline, settings, target = _warehouse()
    logical = context.get("logical_date")
    if logical is not None and logical.day == 1 and logical.hour == 0:
        return True
    files = [
        path
        for folder in (settings.source_dir("ombudsman"), settings.source_dir("reference"))
        for path in folder.glob("*")
        if path.is_file() and path.suffix.lower() in {".csv", ".xlsx"}
    ]
    with database.connect(target) as conn:
        last_loaded = dict(
            conn.execute(
                "select source_file, max(finished_at) from audit.load_batches "
                "where status in ('loaded', 'skipped') and source_file = any(%s) group by 1",
                ([str(p) for p in files],),
            ).fetchall()
        )
    return any(
        str(p) not in last_loaded or datetime.fromtimestamp(p.stat().st_mtime, UTC) > last_loaded[str(p)]
        for p in files
    )


def record_failed_run(context: Context, task: str, error: str) -> None:
    """Mark the run failed in the audit schema, naming the task and the error (the failure notifier's
    first step: ``notifiers.WarehouseFailureNotifier``)."""
    dag_id = context["dag"].dag_id if context.get("dag") is not None else "?"
    pipeline, _, target = _warehouse()
    pipeline.finish_run(
        target, context["run_id"], "failed", {"dag": dag_id, "failed_task": task, "error": error}
    )


#: The Airflow pool every task that runs dbt takes its slot in (one slot: one dbt at a time, queued by
#: the scheduler instead of waiting on ``locks.dbt_lock`` inside a running task). Made by
#: ``complaints-warehouse airflow-run`` and the compose stack's airflow-init (``airflow pools set``).
DBT_POOL = "dbt"
DBT_POOL_SLOTS = 1
DBT_POOL_DESCRIPTION = (
    "One dbt command at a time against the warehouse (complaints_warehouse.warehouse.locks.dbt_lock)"
)


def dag_settings() -> dict[str, Any]:
    """What every DAG of the project shares: no catch-up of missed runs, one run at a time, retries, the
    timeouts and the failure notifier. Spread into ``@dag(...)``."""
    import pendulum

    from complaints_warehouse.notifiers import RunTimedOutNotifier, WarehouseFailureNotifier
    from complaints_warehouse.settings import airflow_timeouts

    # WAREHOUSE_TASK_TIMEOUT_MINUTES and WAREHOUSE_RUN_TIMEOUT_HOURS.
    task_timeout, run_timeout = airflow_timeouts()
    return {
        "start_date": pendulum.datetime(2026, 1, 1, tz="Europe/London"),
        "catchup": False,
        "max_active_runs": 1,
        "dagrun_timeout": run_timeout,
        "on_failure_callback": RunTimedOutNotifier(record=record_failed_run),
        "default_args": {
            **DEFAULT_ARGS,
            "execution_timeout": task_timeout,
            "on_failure_callback": WarehouseFailureNotifier(record=record_failed_run),
        },
    }
