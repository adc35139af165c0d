"""Weekly, Monday 03:00: authorities and their name variants, population, the bank-holiday calendar.

Thin: see ``complaints_warehouse.orchestration``.
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

    @task
    def transform(reference: list[dict]) -> dict:
        return orchestration.transform(get_current_context(), select=REFERENCE_MODELS)

    @task
    def validate(transformed: dict) -> dict:
        return orchestration.validate(get_current_context(), checkpoint="ombudsman")

    @task(outlets=[REFERENCE])
    def report(reference: list[dict], transformed: dict, validation: dict) -> dict:
        return orchestration.report(get_current_context(), reference, transformed, validation)

    reference = load_reference(prepare())
    transformed = transform(reference)
    report(reference, transformed, validate(transformed))


reference_data()
