"""Operations review (issue 15): what a full disk, a read-only folder, a login short of a right, an
existing file or a purge does to the warehouse. Each case ends in a clear message, loses nothing and
leaves the warehouse usable the next night."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql as pgsql

from complaints_warehouse import database

CLI = str(Path(sys.executable).with_name("complaints-warehouse"))


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=environment, timeout=300)


def login_url(target: database.Connection, user: str, password: str) -> str:
    if target.host.startswith("/"):
        return f"postgresql://{user}:{password}@/{target.dbname}?host={target.host}&port={target.port}"
    return f"postgresql://{user}:{password}@{target.host}:{target.port}/{target.dbname}"


# --- C3: a login without CREATE on the database -------------------------------------------------------


def test_a_login_without_create_on_the_database_is_told_what_to_ask_for(settings):
    target = database.resolve(settings)  # the database exists, empty
    user = f"nocreate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute(pgsql.SQL("create role {} login password 'pw'").format(pgsql.Identifier(user)))
        conn.execute(
            pgsql.SQL("revoke create on database {} from public").format(pgsql.Identifier(target.dbname))
        )
    result = run_cli("db", "init", WAREHOUSE_URL=login_url(target, user, "pw"))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert f"{user} may not create schemas in the database {target.dbname}" in result.stderr
    assert f"grant create on database {target.dbname} to {user}" in result.stderr
