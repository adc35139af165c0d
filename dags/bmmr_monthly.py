"""The monthly BMMR: whenever the complaints or Ombudsman marts are rebuilt, validate them and publish
the latest complete month, so a month is frozen as soon as it closes (and a later correction to it
becomes a restatement, never a silent change). Idempotent: nothing new to publish, nothing published.

Scheduled on the Assets the nightly and Ombudsman DAGs emit. Thin: see
``complaints_warehouse.orchestration``. (The BMMR pack, a report of the published figures, is to follow.)
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from complaints_warehouse import orchestration
from complaints_warehouse.assets import MARTS, OMBUDSMAN_MARTS


@dag(
    dag_id="bmmr_monthly",
    description="On new marts: validate, then publish the latest complete month's BMMR (frozen, versioned).",
    schedule=(MARTS | OMBUDSMAN_MARTS),
    **orchestration.dag_settings(),
    tags=["complaints", "bmmr", "governance"],
)
def bmmr_monthly():
    @task
    def prepare() -> str:
        return orchestration.start(get_current_context())

    @task
    def validate(pipeline_run: str) -> dict:
        return orchestration.validate(get_current_context())

    @task
    def publish(validation: dict) -> dict:
        """Freeze the latest complete month, only from this run's passing validation."""
        return orchestration.publish(get_current_context())

    @task
    def report(validation: dict, publication: dict) -> dict:
        return orchestration.report(get_current_context(), [], {}, validation, publication)

    validation = validate(prepare())
    report(validation, publish(validation))


bmmr_monthly()
