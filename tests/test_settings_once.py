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

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "complaints_warehouse"
#: Every folder of product code: the package, ingestion (contracts, adapters, the loader) and the DAG files.
PRODUCT = ("complaints_warehouse", "ingestion", "dags")
#: The one write of the environment left, and why: Airflow reads a connection defined for the process
#: from AIRFLOW_CONN_<ID> (before its metadata database); the alert settings are turned into one there.
ENVIRONMENT_WRITES = {"complaints_warehouse/notifiers.py": 1}


def _environment_reads(path: Path) -> list[int]:
    """Lines reading the environment: ``os.environ[...]``/``.get``/``.setdefault``, ``os.getenv``, and
    ``name in os.environ`` (a copy of the whole environment for a child process, ``dict(os.environ)``, and
    writes are not reads of a setting)."""
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
            or isinstance(node, ast.Compare)
            and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)
            and any(_is_environ(c) for c in node.comparators)
        ):
            lines.append(node.lineno)
    return lines


def _environment_writes(path: Path) -> list[int]:
    """Lines writing the process environment: ``os.environ[...] = ``, ``del os.environ[...]``,
    ``os.environ.update/pop/clear/setdefault(...)``, ``os.putenv``/``os.unsetenv``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Store | ast.Del)
            and _is_environ(node.value)
            or isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and (
                node.func.attr in ("update", "pop", "popitem", "clear", "setdefault")
                and _is_environ(node.func.value)
                or node.func.attr in ("putenv", "unsetenv")
            )
        ):
            lines.append(node.lineno)
    return lines


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _product_files() -> list[Path]:
    return [path for folder in PRODUCT for path in sorted((ROOT / folder).rglob("*.py"))]


def test_only_settings_reads_the_environment():
    reads = {
        str(path.relative_to(ROOT)): lines
        for path in _product_files()
        if path != PACKAGE / "settings.py" and (lines := _environment_reads(path))
    }
    assert not reads, f"environment read outside settings.py: {reads}"


def test_nothing_writes_the_environment_but_the_airflow_connection():
    """Validation hands GX its URL as the context's runtime environment, the DAGs give Airflow's
    connections to the settings, source files' ${VAR} are read through settings: none writes os.environ."""
    writes = {
        str(path.relative_to(ROOT)): len(lines)
        for path in _product_files()
        if (lines := _environment_writes(path))
    }
    assert writes == ENVIRONMENT_WRITES


def test_the_scans_find_what_they_look_for():
    """Each way of reading or writing the environment the rules above forbid is found (they can fail)."""
    import tempfile

    code = (
        "import os\n"
        "a = os.environ['A']\n"
        "b = os.environ.get('B')\n"
        "c = 'C' in os.environ\n"
        "d = os.getenv('D')\n"
        "os.environ['E'] = '1'\n"
        "os.environ.update(F='1')\n"
        "del os.environ['G']\n"
        "child = dict(os.environ)\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.py"
        path.write_text(code)
        assert _environment_reads(path) == [2, 3, 4, 5]
        assert _environment_writes(path) == [6, 7, 8]


def test_source_files_expand_variables_through_settings(tmp_path, monkeypatch):
    """``${VAR}`` in a source's YAML is read by ``settings.environment_value``, the one place."""
    from ingestion.source_config import SourceConfigError, load_source_config

    path = tmp_path / "source.yml"
    path.write_text(
        "source_system: cfs\ncontract: case_system\nadapter: sql\nurl: ${CFS_TEST_URL}\ntables: {}\n"
    )
    monkeypatch.delenv("CFS_TEST_URL", raising=False)
    try:
        load_source_config(path)
    except SourceConfigError as error:
        assert "${CFS_TEST_URL}" in str(error)
    else:
        raise AssertionError("an unset variable was expanded")
    monkeypatch.setenv("CFS_TEST_URL", "postgresql://h/db")
    assert settings_module.environment_value("CFS_TEST_URL") == "postgresql://h/db"
    assert load_source_config(path).url == "postgresql://h/db"
    # ingestion reads no variable itself (test_only_settings_reads_the_environment): settings does.
    assert _environment_reads(ROOT / "ingestion" / "source_config.py") == []


def test_role_passwords_from_a_driver_do_not_touch_the_environment(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_LOADER_PASSWORD", raising=False)
    before = dict(os.environ)
    logins = settings_module.load_settings().roles.with_passwords({"loader": "from-an-airflow-connection"})
    assert logins.password("loader") == "from-an-airflow-connection"
    assert dict(os.environ) == before
    monkeypatch.setenv("WAREHOUSE_LOADER_PASSWORD", "from-the-environment")
    logins = settings_module.load_settings().roles.with_passwords({"loader": "from-an-airflow-connection"})
    assert logins.password("loader") == "from-the-environment"  # the environment first


def test_role_logins_are_read_once_into_the_settings(monkeypatch):
    """The roles' prefix and passwords are typed settings read by load_settings, not at each use: a
    change to the environment afterwards does not reach settings already loaded (or their targets)."""
    monkeypatch.setenv("WAREHOUSE_ROLE_PREFIX", "lbc_")
    monkeypatch.setenv("WAREHOUSE_BI_READER_PASSWORD", "read-once-not-a-secret")
    loaded = settings_module.load_settings()
    monkeypatch.setenv("WAREHOUSE_ROLE_PREFIX", "other_")
    monkeypatch.delenv("WAREHOUSE_BI_READER_PASSWORD")
    assert loaded.roles.name("loader") == "lbc_loader"
    assert loaded.roles.password("bi_reader") == "read-once-not-a-secret"
    assert "read-once" not in repr(loaded)
    assert settings_module.load_settings().roles.name("loader") == "other_loader"


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
