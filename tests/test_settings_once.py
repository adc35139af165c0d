"""Settings are read in one place, and an Airflow task sets the warehouse up only when it changed.

Every environment variable the package reads is read in ``complaints_warehouse/settings.py``; the Airflow
driver gives Airflow's connections to the settings instead of writing them into ``os.environ``; and
``pipeline.prepare(..., once=True)`` (each Airflow task) skips the DDL and grants when the last set-up was
of the same code, contracts and roles."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from complaints_warehouse import pipeline
from complaints_warehouse import settings as settings_module
from complaints_warehouse.warehouse import database

PACKAGE = Path(__file__).resolve().parents[1] / "complaints_warehouse"


def _environment_reads(path: Path) -> list[int]:
    """Lines reading the environment: ``os.environ[...]``/``.get``, ``os.getenv`` (a copy of the whole
    environment for a child process, ``dict(os.environ)``, and writes are not reads of a setting)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _is_environ(node.value)
            or isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and (
                node.func.attr in ("get", "setdefault")
                and _is_environ(node.func.value)
                or node.func.attr == "getenv"
            )
        ):
            lines.append(node.lineno)
    return lines


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def test_only_settings_reads_the_environment():
    reads = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "settings.py" and (lines := _environment_reads(path))
    }
    assert not reads, f"environment read outside settings.py: {reads}"


def test_role_passwords_from_a_driver_do_not_touch_the_environment(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_LOADER_PASSWORD", raising=False)
    monkeypatch.setattr(settings_module, "_given_role_passwords", {})
    before = dict(os.environ)
    settings_module.use_role_passwords({"loader": "from-an-airflow-connection"})
    assert settings_module.role_password("loader") == "from-an-airflow-connection"
    assert dict(os.environ) == before
    monkeypatch.setenv("WAREHOUSE_LOADER_PASSWORD", "from-the-environment")
    assert settings_module.role_password("loader") == "from-the-environment"  # the environment first


def test_a_task_sets_the_warehouse_up_only_when_it_changed(settings, warehouse):
    def comment() -> str:
        with database.connect(warehouse) as conn:
            return conn.execute("select obj_description('audit'::regnamespace, 'pg_namespace')").fetchone()[0]

    pipeline.prepare(settings, warehouse)  # set up, and the stamp recorded
    original = comment()
    with database.connect(warehouse) as conn:
        conn.execute("comment on schema audit is 'changed by hand'")
    try:
        pipeline.prepare(settings, warehouse, once=True)  # same code, contracts and roles: nothing run
        assert comment() == "changed by hand"
        pipeline.prepare(settings, warehouse)  # the command line's prepare always sets up
        assert comment() == original
    finally:
        pipeline.prepare(settings, warehouse)


def test_dbt_threads_match_the_machine_unless_set(monkeypatch):
    """dbt runs as many models and tests at once as the machine has CPUs, or as WAREHOUSE_DBT_THREADS
    says; the profile reads what the pipeline hands dbt."""
    from complaints_warehouse import transform

    monkeypatch.delenv("WAREHOUSE_DBT_THREADS", raising=False)
    assert settings_module.dbt_threads() == settings_module.machine_cpus() >= 1
    monkeypatch.setenv("WAREHOUSE_DBT_THREADS", "3")
    assert settings_module.dbt_threads() == 3
    env = transform.dbt_environment(
        settings_module.load_settings(), transform.Connection.from_url("postgresql://h/db")
    )
    assert env["WAREHOUSE_DBT_THREADS"] == "3"
    profile = (settings_module.PROJECT_DIR / "dbt_project" / "profiles.yml").read_text()
    assert "env_var('WAREHOUSE_DBT_THREADS'" in profile
    for wrong in ("0", "two", "²", "65"):
        monkeypatch.setenv("WAREHOUSE_DBT_THREADS", wrong)
        with pytest.raises(settings_module.SettingsError, match="WAREHOUSE_DBT_THREADS"):
            settings_module.dbt_threads()
