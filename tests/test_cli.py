"""The command line: help a newcomer can read, and clear messages (not tracebacks) for bad settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("complaints-warehouse"))


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=environment, timeout=120)


def test_help_names_every_step_and_the_exit_codes():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "load", "transform", "validate", "report", "db", "airflow-run"):
        assert f"  {command}" in result.stdout
    assert "WAREHOUSE_URL" in result.stdout
    assert "exit codes" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"WAREHOUSE_URL": "postgresql://nobody:secret@127.0.0.1:1/warehouse"},
            "Cannot connect to the warehouse (PostgreSQL at 127.0.0.1:1, database warehouse, user nobody)",
        ),
        ({"WAREHOUSE_URL": "mysql://root@localhost/warehouse"}, "WAREHOUSE_URL must be a PostgreSQL URL"),
        ({"WAREHOUSE_URL": "postgresql://localhost:5432"}, "WAREHOUSE_URL names no database"),
        ({"WAREHOUSE_EMBEDDED": "0"}, "WAREHOUSE_URL is not set and the embedded PostgreSQL is switched off"),
        ({"WAREHOUSE_EMBEDDED": "maybe"}, "WAREHOUSE_EMBEDDED='maybe' is not a yes/no value"),
    ],
)
def test_missing_or_unreachable_warehouse_gives_a_clear_message(env, message):
    result = run_cli("db", "init", **env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr  # the password is never echoed


def test_status_of_an_unreachable_url_is_a_clear_message():
    result = run_cli("db", "status", WAREHOUSE_URL="postgresql://nobody@127.0.0.1:1/warehouse")
    assert result.returncode == 2
    assert "Cannot connect to the warehouse" in result.stderr and "Traceback" not in result.stderr


def test_a_refused_file_exits_3_naming_the_file(tmp_path, settings):
    (tmp_path / "representations.csv").write_text("representation_id\nR1\n")
    result = run_cli(
        "load",
        "case_system",
        "--from",
        str(tmp_path),
        WAREHOUSE_EMBEDDED_DATABASE=os.environ["WAREHOUSE_EMBEDDED_DATABASE"],
    )
    assert result.returncode == 3, result.stderr
    assert f"Refused {tmp_path / 'representations.csv'}: missing required column(s)" in result.stderr
