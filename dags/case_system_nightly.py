"""Nightly: load the case system, reference and Ombudsman data, build the warehouse, validate, report.

Thin on purpose: each task calls the same pipeline function as ``complaints-warehouse run``; nothing
heavy is imported and no database is touched when Airflow parses this file.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, CronTriggerTimetable, dag, get_current_context, task

MARTS = Asset(name="complaints_warehouse.marts", uri="complaints-warehouse://warehouse/marts")


def _pipeline():
    from complaints_warehouse import pipeline
    from complaints_warehouse.settings import load_settings

    settings = load_settings()
    return pipeline, settings, pipeline.prepare(settings)


def record_failure(context) -> None:
    """Mark the pipeline run failed in the audit schema, naming the task and the error."""
    pipeline, _, target = _pipeline()
    pipeline.finish_run(
        target,
        context["run_id"],
        "failed",
        {"failed_task": context["task_instance"].task_id, "error": str(context.get("exception"))},
    )


@dag(
    dag_id="case_system_nightly",
    description="Load the case system and Ombudsman data, dbt build, validate with Great Expectations, report.",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="Europe/London"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/London"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "on_failure_callback": record_failure},
    tags=["complaints", "nightly"],
)
def case_system_nightly():
    @task
    def prepare() -> str:
        """Start (or find) the warehouse, create its schemas, open the run in audit.pipeline_runs."""
        pipeline, _, target = _pipeline()
        run_id = get_current_context()["run_id"]
        pipeline.start_run(target, run_id, "airflow")
        return run_id

    @task
    def load_case_system(pipeline_run: str) -> list[dict]:
        """Every configured case-system source (ingestion/sources/*.yml), incrementally."""
        pipeline, settings, target = _pipeline()
        return pipeline.step_load_case_systems(settings, target)

    @task
    def load_reference(pipeline_run: str) -> list[dict]:
        """Authorities, their name variants and population: the Ombudsman load matches against them."""
        pipeline, settings, target = _pipeline()
        return pipeline.step_load(settings, target, "reference")

    @task
    def load_ombudsman(pipeline_run: str, reference: list[dict]) -> list[dict]:
        pipeline, settings, target = _pipeline()
        return pipeline.step_load(settings, target, "ombudsman")

    @task
    def transform(case_system: list[dict], ombudsman: list[dict]) -> dict:
        pipeline, settings, target = _pipeline()
        return pipeline.step_transform(settings, target)

    @task
    def validate(pipeline_run: str, transformed: dict) -> dict:
        pipeline, settings, target = _pipeline()
        return pipeline.step_validate(settings, target, pipeline_run)

    @task(outlets=[MARTS])
    def report(
        pipeline_run: str,
        case_system: list[dict],
        reference: list[dict],
        ombudsman: list[dict],
        transformed: dict,
        validation: dict,
    ) -> dict:
        pipeline, settings, target = _pipeline()
        summary = {
            "loads": case_system + reference + ombudsman,
            "transform": transformed,
            "validation": validation,
        }
        return pipeline.step_report(settings, target, pipeline_run, summary)

    pipeline_run = prepare()
    case_system = load_case_system(pipeline_run)
    reference = load_reference(pipeline_run)
    ombudsman = load_ombudsman(pipeline_run, reference)
    transformed = transform(case_system, ombudsman)
    validation = validate(pipeline_run, transformed)
    report(pipeline_run, case_system, reference, ombudsman, transformed, validation)


case_system_nightly()
