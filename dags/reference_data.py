"""Weekly, Monday 03:00: authorities and their name variants, population, the bank-holiday calendar.

Thin: see ``complaints_warehouse.orchestration``.

**Schedule:** weekly, Monday 03:00 Europe/London; its `report` task emits the `reference` asset.

**Timeouts and pool:** each task fails after `WAREHOUSE_TASK_TIMEOUT_MINUTES` (default 180), the run after
`WAREHOUSE_RUN_TIMEOUT_HOURS` (default 8); `transform` and `report` run dbt and queue for the `dbt` pool.

**When it fails:** the task is marked failed in `audit.pipeline_runs` and an alert goes out. A refused
reference file is named with its problem: correct it in the reference folder, then *Clear* the failed
task (or wait a week).
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from complaints_warehouse import orchestration
from complaints_warehouse.assets import REFERENCE

REFERENCE_MODELS = "source:reference+ bank_holidays+"


@dag(
    dag_id="reference_data",
    description="Weekly: load authorities, name variants and population; rebuild the calendar and what uses them.",
    schedule=CronTriggerTimetable("0 3 * * 1", timezone="Europe/London"),
    doc_md=__doc__,
    **orchestration.dag_settings(),
    tags=["complaints", "reference"],
)
def reference_data():
    @task
    def prepare() -> str:
        return orchestration.start(get_current_context())

    @task
    def load_reference(pipeline_run: str) -> list[dict]:
        return orchestration.load_folder(get_current_context(), "reference")

    @task(pool=orchestration.DBT_POOL)
    def transform(reference: list[dict]) -> dict:
        return orchestration.transform(get_current_context(), select=REFERENCE_MODELS)

    @task
    def validate(transformed: dict) -> dict:
        return orchestration.validate(get_current_context(), checkpoint="ombudsman")

    @task(outlets=[REFERENCE], pool=orchestration.DBT_POOL)
    def report(reference: list[dict], transformed: dict, validation: dict) -> dict:
        return orchestration.report(get_current_context(), reference, transformed, validation)

    reference = load_reference(prepare())
    transformed = transform(reference)
    report(reference, transformed, validate(transformed))


reference_data()
