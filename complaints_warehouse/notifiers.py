"""Airflow notifiers: what a DAG's task does when it fails, as Airflow's own callbacks.

``WarehouseFailureNotifier`` is every task's ``on_failure_callback`` (``orchestration.dag_settings``). It
marks the run failed in ``audit.pipeline_runs`` (naming the task and the error), then tells people:

* by email, through the SMTP provider's ``SmtpNotifier`` and the Airflow connection ``complaints_alerts``
  (Admin > Connections, a secrets backend or ``AIRFLOW_CONN_COMPLAINTS_ALERTS``); when Airflow has no such
  connection it is built from the alert settings (``ALERT_SMTP_HOST`` ... , ``alerts.smtp_connection``),
  so the settings the command line uses work unchanged. The recipients are ``ALERT_EMAIL_TO``;
* on the webhook ``ALERT_WEBHOOK_URL`` (Slack, Teams or any JSON endpoint), as the command line does.

An alert that cannot be sent is logged, never raised: the task's own failure is what matters.
Cheap to import (DAG files import it while they are parsed): the SMTP provider and the pipeline are
imported when a task fails.
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Callable
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

#: The Airflow connection failure emails go through.
ALERTS_CONNECTION_ID = "complaints_alerts"


def alerts_connection_id() -> str | None:
    """``complaints_alerts`` when Airflow knows it, or after defining it for this process from the alert
    settings (as ``AIRFLOW_CONN_COMPLAINTS_ALERTS``, which Airflow reads before its metadata database);
    None when there is neither (no email is sent)."""
    from airflow.sdk import Connection

    from complaints_warehouse import alerts

    try:
        Connection.get(ALERTS_CONNECTION_ID)
        return ALERTS_CONNECTION_ID
    except Exception:  # no such connection: build it from the settings, if they name an SMTP server
        built = alerts.smtp_connection()
        if built is None:
            return None
        os.environ[f"AIRFLOW_CONN_{ALERTS_CONNECTION_ID.upper()}"] = json.dumps(built)
        return ALERTS_CONNECTION_ID


class WarehouseFailureNotifier(BaseNotifier):
    """Record a failed task in the audit schema and alert by email (``SmtpNotifier``) and webhook."""

    template_fields = ("subject",)

    def __init__(
        self,
        subject: str = "Complaints warehouse: {{ dag.dag_id }}.{{ ti.task_id }} failed",
        record: Callable[[Any, str, str], None] | None = None,
    ):
        super().__init__()
        self.subject = subject
        # How the failure is recorded in the audit schema (``orchestration.record_failed_run``), given by
        # the driver that owns the run; None: alert only.
        self.record = record

    def failure(self, context: Any) -> tuple[str, str, str] | None:
        """(what failed, the error, the alert's text), or None when there is nothing to say."""
        task = context["task_instance"].task_id
        error = str(context.get("exception"))
        return task, error, f"Run {context['run_id']}: task {task} failed.\n\n{error}"

    def notify(self, context: Any) -> list[str]:
        """The channels the alert went out on (``email``, ``webhook``)."""
        from complaints_warehouse import alerts

        failure = self.failure(context)
        if failure is None:
            return []
        task, error, text = failure
        sent = []
        try:
            if self.record is not None:
                self.record(context, task, error)
        finally:
            if alerts.post_webhook(self.subject, text):
                sent.append("webhook")
            if self._email(context, text):
                sent.append("email")
        return sent

    def _email(self, context: Any, text: str) -> bool:
        from complaints_warehouse.settings import alert_settings

        settings = alert_settings()
        to = [a.strip() for a in settings.email_to.split(",") if a.strip()]
        if not to:
            return False
        try:
            connection_id = alerts_connection_id()
            if connection_id is None:
                log.warning(
                    "ALERT_EMAIL_TO is set but there is no SMTP server: set ALERT_SMTP_HOST or "
                    "define the Airflow connection %s",
                    ALERTS_CONNECTION_ID,
                )
                return False
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            SmtpNotifier(
                to=to,
                from_email=settings.email_from or None,
                subject=self.subject,
                html_content=f"<pre>{html.escape(text)}</pre>",
                smtp_conn_id=connection_id,
            ).notify(context)
            return True
        except Exception as exc:
            log.warning("could not email the failure alert: %s", exc)
            return False


class RunTimedOutNotifier(WarehouseFailureNotifier):
    """A DAG's ``on_failure_callback``: a run failed by its ``dagrun_timeout`` (``reason`` ``timed_out``;
    its unfinished tasks are skipped, so no task's notifier says it) is recorded and alerted like a failed
    task. A run failed by a task says nothing more: the task's notifier has said it."""

    def __init__(
        self,
        subject: str = "Complaints warehouse: {{ dag.dag_id }} run timed out",
        record: Callable[[Any, str, str], None] | None = None,
    ):
        super().__init__(subject, record)

    def failure(self, context: Any) -> tuple[str, str, str] | None:
        from complaints_warehouse.settings import RUN_TIMEOUT_SETTING, airflow_timeouts

        if context.get("reason") != "timed_out":
            return None
        limit = airflow_timeouts()[1]
        error = f"the run took longer than its dagrun_timeout ({limit}, {RUN_TIMEOUT_SETTING})"
        return "the run", error, f"Run {context['run_id']}: {error}; its unfinished tasks were skipped."
