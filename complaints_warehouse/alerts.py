"""Tell people when a run fails: a webhook (Slack, Teams or any JSON endpoint) and/or an email.

Configured by settings, not code: ``ALERT_WEBHOOK_URL``; ``ALERT_EMAIL_TO`` with ``ALERT_SMTP_HOST``
(and optionally ``ALERT_SMTP_PORT``, ``ALERT_SMTP_USER``, ``ALERT_SMTP_PASSWORD``, ``ALERT_EMAIL_FROM``).
Nothing configured, nothing sent. A failing alert is logged, never raised: the run's own failure is
what matters.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage

log = logging.getLogger(__name__)


def notify(subject: str, text: str) -> list[str]:
    """Send ``subject`` and ``text`` on every configured channel; return the channels that took it."""
    from complaints_warehouse.settings import alert_settings

    sent, settings = [], alert_settings()
    webhook = settings.webhook_url
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
    to, host = settings.email_to, settings.smtp_host
    if to and host:
        try:
            message = EmailMessage()
            message["Subject"], message["To"] = subject, to
            message["From"] = settings.email_from
            message.set_content(text)
            with smtplib.SMTP(host, int(settings.smtp_port), timeout=10) as smtp:
                if settings.smtp_user:
                    smtp.starttls()
                    smtp.login(settings.smtp_user, settings.smtp_password)
                smtp.send_message(message)
            sent.append("email")
        except Exception as exc:
            log.warning("could not email the failure alert: %s", exc)
    return sent
