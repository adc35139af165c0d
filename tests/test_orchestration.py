"""What Airflow leans on: one loader per source at a time, alerts that reach people, Airflow connections."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from complaints_warehouse import alerts, orchestration
from complaints_warehouse.warehouse import locks


def test_a_second_loader_of_the_same_source_waits_for_the_first(warehouse):
    order = []
    held = threading.Event()  # not a head start in seconds: a busy machine may take longer to connect

    def first():
        with locks.source_lock(warehouse, "source:rms"):
            order.append("first in")
            held.set()
            time.sleep(1.5)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    assert held.wait(timeout=60), "the first loader never got its lock"
    with locks.source_lock(warehouse, "source:rms", poll_s=0.1):
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]
    with locks.source_lock(warehouse, "source:other"), locks.source_lock(warehouse, "source:rms", wait_s=1):
        pass  # different sources do not wait for each other; a released lock is free again


def test_a_loader_that_cannot_get_the_lock_in_time_says_so(warehouse):
    with (
        locks.source_lock(warehouse, "source:rms"),
        pytest.raises(locks.SourceBusy, match="Another run is loading source:rms"),
        locks.source_lock(warehouse, "source:rms", wait_s=0.5, poll_s=0.1),
    ):
        pass


def test_failure_alerts_reach_a_webhook(monkeypatch):
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the standard library's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/hook")
    monkeypatch.delenv("ALERT_EMAIL_TO", raising=False)
    assert alerts.notify("nightly.validate failed", "3 expectations failed") == ["webhook"]
    thread.join(timeout=5)
    server.server_close()
    assert received == [{"text": "nightly.validate failed\n3 expectations failed"}]


def test_failure_alerts_by_email_when_configured(monkeypatch):
    sent = []

    class FakeSMTP:  # no mail server exists here: the one thing mocked
        def __init__(self, host, port, timeout):
            sent.append((host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append((message["To"], message["Subject"], message.get_content().strip()))

    monkeypatch.setattr(alerts.smtplib, "SMTP", FakeSMTP)
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("ALERT_EMAIL_TO", "complaints-team@council.example")
    monkeypatch.setenv("ALERT_SMTP_HOST", "smtp.council.example")
    assert alerts.notify("run failed", "details") == ["email"]
    assert sent == [
        ("smtp.council.example", 25),
        ("complaints-team@council.example", "run failed", "details"),
    ]


def test_nothing_configured_nothing_sent(monkeypatch):
    for name in ("ALERT_WEBHOOK_URL", "ALERT_EMAIL_TO", "ALERT_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert alerts.notify("subject", "text") == []


def test_the_warehouse_can_come_from_an_airflow_connection(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_COMPLAINTS_WAREHOUSE", "postgres://loader:secret@db.council.example:5433/warehouse"
    )
    assert (
        orchestration.warehouse_url_from_airflow()
        == "postgres://loader:secret@db.council.example:5433/warehouse"
    )
    monkeypatch.delenv("AIRFLOW_CONN_COMPLAINTS_WAREHOUSE")
    assert orchestration.warehouse_url_from_airflow() is None


def test_permanent_errors_fail_fast_and_transient_ones_are_retried():
    from airflow.sdk.exceptions import AirflowFailException

    from ingestion.copy_loader import RefusedFile

    assert isinstance(orchestration.fail_fast(RefusedFile("x.csv", "empty")), AirflowFailException)
    dropped = ConnectionError("server closed the connection unexpectedly")
    assert orchestration.fail_fast(dropped) is dropped
