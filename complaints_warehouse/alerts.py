"""Tell people when a run fails: a webhook (Slack, Teams or any JSON endpoint) and/or an email.

Configured by settings, not code: ``ALERT_WEBHOOK_URL``; ``ALERT_EMAIL_TO`` with ``ALERT_SMTP_HOST``
(and optionally ``ALERT_SMTP_PORT``, ``ALERT_SMTP_USER``, ``ALERT_SMTP_PASSWORD``, ``ALERT_EMAIL_FROM``).
Nothing configured, nothing sent. A failing alert is logged, never raised: the run's own failure is
what matters.

Two drivers use it: the command line calls ``notify`` (both channels, the standard library's SMTP);
Airflow's tasks alert through ``complaints_warehouse.notifiers`` (an Airflow notifier), which posts to the
webhook with ``post_webhook`` and sends the email with the SMTP provider's ``SmtpNotifier`` through an
Airflow connection built from the same settings (``smtp_connection``).
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage

log = logging.getLogger(__name__)

DEFAULT_FROM = "complaints-warehouse@localhost"


def notify(subject: str, text: str) -> list[str]:
    """Send ``subject`` and ``text`` on every configured channel; return the channels that took it."""
    from complaints_warehouse.settings import alert_settings

    settings = alert_settings()
    sent = []
    if post_webhook(subject, text):
        sent.append("webhook")
    to, host = settings.email_to, settings.smtp_host
    if to and host:
        try:
            message = EmailMessage()
            message["Subject"], message["To"] = subject, to
            message["From"] = settings.email_from or DEFAULT_FROM
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


def post_webhook(subject: str, text: str) -> bool:
    """Post ``subject`` and ``text`` to ``ALERT_WEBHOOK_URL``; True when it took it (False: not set, or
    it failed, which is logged)."""
    from complaints_warehouse.settings import alert_settings

    webhook = alert_settings().webhook_url
    if not webhook:
        return False
    try:
        request = urllib.request.Request(
            webhook,
            data=json.dumps({"text": f"{subject}\n{text}"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the operator's own URL)
            response.read()
        return True
    except Exception as exc:
        log.warning("could not post the failure alert to the webhook: %s", exc)
        return False


def smtp_connection() -> dict | None:
    """The alert settings' SMTP server as an Airflow connection of type ``smtp`` (the SMTP provider's
    fields: host, port, login, password; ``from_email`` and TLS in ``extra``), or None when
    ``ALERT_SMTP_HOST`` is not set. Like ``notify``: plain SMTP, STARTTLS when a user logs in."""
    from complaints_warehouse.settings import alert_settings

    settings = alert_settings()
    host = settings.smtp_host
    if not host:
        return None
    user = settings.smtp_user.strip()
    port = settings.smtp_port
    return {
        "conn_type": "smtp",
        "host": host,
        "port": int(port) if port.isdigit() else 25,
        "login": user or None,
        "password": settings.smtp_password if user else None,
        "extra": {
            "from_email": settings.email_from.strip() or DEFAULT_FROM,
            "disable_ssl": True,
            "disable_tls": not user,
            "timeout": 10,
            "retry_limit": 0,
        },
    }
