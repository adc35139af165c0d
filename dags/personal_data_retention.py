"""Monthly, the 1st at 04:00: purge complainants' personal data past its retention period
(``WAREHOUSE_RETENTION_YEARS`` after their last case closed), each purge recorded in
``audit.retention_purges``. Trigger with ``{"dry_run": true}`` to count what would go and change nothing.

Thin: see ``complaints_warehouse.orchestration``.

**Schedule:** monthly, the 1st at 04:00 Europe/London. Runs no dbt (no pool).

**Timeouts:** the task fails after `WAREHOUSE_TASK_TIMEOUT_MINUTES` (default 180), the run after
`WAREHOUSE_RUN_TIMEOUT_HOURS` (default 8).

**When it fails:** the purge is one transaction: a failed run purged nothing and recorded nothing in
`audit.retention_purges`. The task is marked failed in `audit.pipeline_runs` and an alert goes out; read
the log, fix the cause (a wrong `WAREHOUSE_RETENTION_YEARS` is named), then *Clear* the task.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

from complaints_warehouse import orchestration


@dag(
    dag_id="personal_data_retention",
    description="Monthly: purge complainants' personal data past the retention period, with an audit record.",
    schedule=CronTriggerTimetable("0 4 1 * *", timezone="Europe/London"),
    params={
        "dry_run": Param(False, type="boolean", description="Count what would be purged; change nothing.")
    },
    doc_md=__doc__,
    **orchestration.dag_settings(),
    tags=["complaints", "personal-data", "governance"],
)
def personal_data_retention():
    @task
    def purge() -> dict:
        return orchestration.retention(get_current_context())

    purge()


personal_data_retention()
