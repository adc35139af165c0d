"""The monthly BMMR: whenever the complaints or Ombudsman marts are rebuilt, validate them, publish
the latest complete month, so a month is frozen as soon as it closes (and a later correction to it
becomes a restatement, never a silent change), and write the BMMR pack of the published figures.
Idempotent: nothing new to publish, nothing published (the pack is rewritten from the same figures).

Scheduled on the Assets the nightly and Ombudsman DAGs emit. Thin: see
``complaints_warehouse.orchestration``.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from complaints_warehouse import orchestration
from complaints_warehouse.assets import MARTS, OMBUDSMAN_MARTS


@dag(
    dag_id="bmmr_monthly",
    description="On new marts: validate, publish the latest complete month's BMMR (frozen, versioned), write its pack.",
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
    def bmmr_pack(publication: dict) -> dict[str, str]:
        """The pack of the published month: tiles, trends, directorates, scorecard, restatements."""
        return orchestration.bmmr_pack(get_current_context())

    @task
    def report(validation: dict, publication: dict, pack: dict[str, str]) -> dict:
        return orchestration.report(get_current_context(), [], {}, validation, publication, reports=pack)

    validation = validate(prepare())
    publication = publish(validation)
    report(validation, publication, bmmr_pack(publication))


bmmr_monthly()
