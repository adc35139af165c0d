"""Tell people when a run fails: a webhook (Slack, Teams or any JSON endpoint) and/or an email.

Configured by settings, not code: ``ALERT_WEBHOOK_URL``; ``ALERT_EMAIL_TO`` with ``ALERT_SMTP_HOST``
(and optionally ``ALERT_SMTP_PORT``, ``ALERT_SMTP_USER``, ``ALERT_SMTP_PASSWORD``, ``ALERT_EMAIL_FROM``).
Nothing configured, nothing sent. A failing alert is logged, never raised: the run's own failure is
what matters.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.request
from email.message import EmailMessage

log = logging.getLogger(__name__)


def notify(subject: str, text: str) -> list[str]:
    """Send ``subject`` and ``text`` on every configured channel; return the channels that took it."""
    sent = []
    webhook = os.environ.get("ALERT_WEBHOOK_URL", "").strip()
    if webhook:
        try:
            request = urllib.request.Request(
                webhook,
                data=json.dumps({"text": f"{subject}\n{text}"}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the operator's own URL)
                response.read()
            sent.append("webhook")
        except Exception as exc:
            log.warning("could not post the failure alert to the webhook: %s", exc)
    to = os.environ.get("ALERT_EMAIL_TO", "").strip()
    host = os.environ.get("ALERT_SMTP_HOST", "").strip()
    if to and host:
        try:
            message = EmailMessage()
            message["Subject"], message["To"] = subject, to
            message["From"] = os.environ.get("ALERT_EMAIL_FROM", "complaints-warehouse@localhost")
            message.set_content(text)
            with smtplib.SMTP(host, int(os.environ.get("ALERT_SMTP_PORT", "25")), timeout=10) as smtp:
                if os.environ.get("ALERT_SMTP_USER"):
                    smtp.starttls()
                    smtp.login(os.environ["ALERT_SMTP_USER"], os.environ.get("ALERT_SMTP_PASSWORD", ""))
                smtp.send_message(message)
            sent.append("email")
        except Exception as exc:
            log.warning("could not email the failure alert: %s", exc)
    return sent
