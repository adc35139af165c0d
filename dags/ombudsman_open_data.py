"""The Ombudsman's open data: loaded when a new file lands in its folder (checked hourly) and monthly.

Loads reference data and the Ombudsman's statistics, decisions and case spreadsheets, rebuilds only
the models downstream of them, and validates the Ombudsman suites. Thin: see
``complaints_warehouse.orchestration``.

**Schedule:** hourly (Europe/London); the run is skipped unless a file in the Ombudsman or reference
folder is new or changed since it was loaded, or a month begins. Its `report` task emits
`ombudsman_marts`, which triggers `bmmr_monthly`.

**Timeouts and pool:** each task fails after `WAREHOUSE_TASK_TIMEOUT_MINUTES` (default 180), the run after
`WAREHOUSE_RUN_TIMEOUT_HOURS` (default 8); `transform` and `report` run dbt and queue for the `dbt` pool.

**When it fails:** the task is marked failed in `audit.pipeline_runs` and an alert goes out. A refused
file is named with its problem in the log and in `audit.load_batches`: replace the file (a new file
triggers the next hourly run), or fix the cause and *Clear* the failed task.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from complaints_warehouse import orchestration
from complaints_warehouse.assets import OMBUDSMAN_MARTS

OMBUDSMAN_MODELS = "source:ombudsman+ source:reference+"


@dag(
    dag_id="ombudsman_open_data",
    description="On arrival (hourly check) and monthly: load the Ombudsman's data, rebuild its marts, validate.",
    schedule=CronTriggerTimetable("0 * * * *", timezone="Europe/London"),
    doc_md=__doc__,
    **orchestration.dag_settings(),
    tags=["complaints", "ombudsman"],
)
def ombudsman_open_data():
    @task.short_circuit
    def new_files_or_month_start() -> bool:
        """Skip the run unless a file arrived (or changed) since its last load, or a month begins."""
        return orchestration.ombudsman_files_waiting(get_current_context())

    @task
    def prepare() -> str:
        return orchestration.start(get_current_context())

    @task
    def load_reference(pipeline_run: str) -> list[dict]:
        return orchestration.load_folder(get_current_context(), "reference")

    @task
    def load_ombudsman(pipeline_run: str, reference: list[dict]) -> list[dict]:
        return orchestration.load_folder(get_current_context(), "ombudsman")

    @task(pool=orchestration.DBT_POOL)
    def transform(ombudsman: list[dict]) -> dict:
        return orchestration.transform(get_current_context(), select=OMBUDSMAN_MODELS)

    @task
    def validate(transformed: dict) -> dict:
        return orchestration.validate(get_current_context(), checkpoint="ombudsman")

    @task(outlets=[OMBUDSMAN_MARTS], pool=orchestration.DBT_POOL)
    def report(reference: list[dict], ombudsman: list[dict], transformed: dict, validation: dict) -> dict:
        return orchestration.report(get_current_context(), reference + ombudsman, transformed, validation)

    gate = new_files_or_month_start()
    pipeline_run = prepare()
    gate >> pipeline_run
    reference = load_reference(pipeline_run)
    ombudsman = load_ombudsman(pipeline_run, reference)
    transformed = transform(ombudsman)
    validation = validate(transformed)
    report(reference, ombudsman, transformed, validation)


ombudsman_open_data()
