"""The monthly BMMR: whenever the complaints or Ombudsman marts are rebuilt, validate them, publish
the latest complete month, so a month is frozen as soon as it closes (and a later correction to it
becomes a restatement, never a silent change), and write the BMMR pack of the published figures.
Idempotent: nothing new to publish, nothing published (the pack is rewritten from the same figures).

Thin: see ``complaints_warehouse.orchestration``.

**Schedule:** whenever the nightly DAG emits the `marts` asset or the Ombudsman DAG emits
`ombudsman_marts`. It does not run the checkpoint again when it need not: the `marts` asset's latest
event names the nightly validation (run id, checksums), and when the marts are still those it validated
(same checksum of the month, `integrity`) that validation is published from. Otherwise (no such event,
or a build since) it validates again and its log says why.

**Timeouts and pool:** each task fails after `WAREHOUSE_TASK_TIMEOUT_MINUTES` (default 180), the run after
`WAREHOUSE_RUN_TIMEOUT_HOURS` (default 8); `report` writes the dbt docs and queues for the `dbt` pool.

**When it fails:** the task is marked failed in `audit.pipeline_runs` and an alert goes out. A refused
publication (figures changed after validation, a failed expectation, tampering) publishes nothing: the
message says which and what to do (docs/publication.md). Fix the cause and *Clear* the failed task, or
wait for the next marts event.
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from complaints_warehouse import orchestration
from complaints_warehouse.assets import MARTS, OMBUDSMAN_MARTS


@dag(
    dag_id="bmmr_monthly",
    description="On new marts: validate, publish the latest complete month's BMMR (frozen, versioned), write its pack.",
    schedule=(MARTS | OMBUDSMAN_MARTS),
    doc_md=__doc__,
    **orchestration.dag_settings(),
    tags=["complaints", "bmmr", "governance"],
)
def bmmr_monthly():
    @task
    def prepare() -> str:
        return orchestration.start(get_current_context())

    @task(inlets=[MARTS])
    def validate(pipeline_run: str) -> dict:
        """The nightly's validation when the marts are still those it validated; else the checkpoint."""
        return orchestration.validate_or_reuse(get_current_context(), MARTS)

    @task
    def publish(validation: dict) -> dict:
        """Freeze the latest complete month, only from a passing validation of the marts as they are."""
        return orchestration.publish(get_current_context(), validation.get("run_id"))

    @task
    def bmmr_pack(publication: dict) -> dict[str, str]:
        """The pack of the published month: tiles, trends, directorates, scorecard, restatements."""
        return orchestration.bmmr_pack(get_current_context())

    @task(pool=orchestration.DBT_POOL)
    def report(validation: dict, publication: dict, pack: dict[str, str]) -> dict:
        return orchestration.report(get_current_context(), [], {}, validation, publication, reports=pack)

    validation = validate(prepare())
    publication = publish(validation)
    report(validation, publication, bmmr_pack(publication))


bmmr_monthly()
