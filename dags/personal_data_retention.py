"""Monthly, the 1st at 04:00: purge complainants' personal data past its retention period
(``WAREHOUSE_RETENTION_YEARS`` after their last case closed), each purge recorded in
``audit.retention_purges``. Trigger with ``{"dry_run": true}`` to count what would go and change nothing.

Thin: see ``complaints_warehouse.orchestration``.
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
    **orchestration.dag_settings(),
    tags=["complaints", "personal-data", "governance"],
)
def personal_data_retention():
    @task
    def purge() -> dict:
        return orchestration.retention(get_current_context())

    purge()


personal_data_retention()
