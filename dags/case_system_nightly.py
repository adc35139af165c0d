"""Nightly, 02:00 London time: load every case-system source, the reference and Ombudsman data, build the
warehouse, validate it, publish the latest complete month's BMMR, report.

Thin on purpose: each task is one call into ``complaints_warehouse.orchestration``, which runs the same
pipeline steps as ``complaints-warehouse run``; nothing heavy is imported and no database is touched
when Airflow parses this file. A backfill run loads its own data interval; a manual run can name a
source, a window (start, end) or a full refresh.

**Schedule:** every night at 02:00 Europe/London (a backfill run loads its own day). Its `report` task
emits the `marts` asset, carrying the validation the marts passed (run id and checksums), which
`bmmr_monthly` publishes from instead of validating again.

**Timeouts and pool:** each task fails after `WAREHOUSE_TASK_TIMEOUT_MINUTES` (default 180), the run after
`WAREHOUSE_RUN_TIMEOUT_HOURS` (default 8); `transform` and `report` run dbt and queue for the `dbt` pool
(one slot).

**When it fails:** the failing task is marked failed in `audit.pipeline_runs` (task and error) and an
alert goes out (email through the `complaints_alerts` connection, webhook). Nothing is published from a
failed run: the previous figures stand. Read the task's log (a refused file, a failed expectation or a
dbt error names itself), fix the cause, then *Clear* the failed task (its downstream tasks follow); see
docs/operations.md.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from complaints_warehouse import orchestration
from complaints_warehouse.assets import MARTS, RAW_CASE_SYSTEM

HELP = orchestration.PARAM_HELP


@dag(
    dag_id="case_system_nightly",
    description="Load the case system, reference and Ombudsman data; dbt build; validate; publish; report.",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="Europe/London"),
    doc_md=__doc__,
    **orchestration.dag_settings(),
    params={
        "source": Param("all", type="string", description=HELP["source"]),
        "start": Param(None, type=["null", "string"], format="date", description=HELP["start"]),
        "end": Param(None, type=["null", "string"], format="date", description=HELP["end"]),
        "full_refresh": Param(False, type="boolean", description=HELP["full_refresh"]),
    },
    tags=["complaints", "nightly"],
)
def case_system_nightly():
    @task
    def prepare() -> str:
        """Start (or find) the warehouse, create its schemas, open the run in audit.pipeline_runs."""
        return orchestration.start(get_current_context())

    @task(outlets=[RAW_CASE_SYSTEM])
    def load_case_system(pipeline_run: str) -> list[dict]:
        """Every configured case-system source (ingestion/sources/*.yml): incremental, or the window."""
        return orchestration.load_case_systems(get_current_context())

    @task
    def load_reference(pipeline_run: str) -> list[dict]:
        return orchestration.load_folder(get_current_context(), "reference")

    @task
    def load_ombudsman(pipeline_run: str, reference: list[dict]) -> list[dict]:
        return orchestration.load_folder(get_current_context(), "ombudsman")

    @task(pool=orchestration.DBT_POOL)
    def transform(case_system: list[dict], reference: list[dict], ombudsman: list[dict]) -> dict:
        return orchestration.transform(get_current_context())

    @task
    def validate(pipeline_run: str, transformed: dict) -> dict:
        return orchestration.validate(get_current_context())

    @task
    def publish(validation: dict) -> dict:
        """Freeze the latest complete month's BMMR (never reached when validation fails)."""
        return orchestration.publish(get_current_context())

    @task(outlets=[MARTS], pool=orchestration.DBT_POOL)
    def report(
        case_system: list[dict],
        reference: list[dict],
        ombudsman: list[dict],
        transformed: dict,
        validation: dict,
        publication: dict,
    ) -> dict:
        context = get_current_context()
        summary = orchestration.report(
            context, case_system + reference + ombudsman, transformed, validation, publication
        )
        orchestration.announce_validation(context, MARTS, validation)  # for bmmr_monthly to reuse
        return summary

    pipeline_run = prepare()
    case_system = load_case_system(pipeline_run)
    reference = load_reference(pipeline_run)
    ombudsman = load_ombudsman(pipeline_run, reference)
    transformed = transform(case_system, reference, ombudsman)
    validation = validate(pipeline_run, transformed)
    publication = publish(validation)
    report(case_system, reference, ombudsman, transformed, validation, publication)


case_system_nightly()
