"""Test set-up: a real embedded PostgreSQL and a local Airflow home, both private to this test session.

The environment is set before anything imports Airflow, which reads its configuration once at import.
Each test that needs a warehouse gets a fresh database on the session's server.

Slow states are built once per session and copied per test (docs/developing.md): the simulated case
system as created, and "a warehouse after a clean nightly run" of the bundled sample or of the simulated
council, each kept in a template database; a test gets its own copy with ``CREATE DATABASE ... TEMPLATE``
(a file-level copy, a second or so, instead of minutes of dbt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SESSION_DIR = Path(tempfile.mkdtemp(prefix="cw-tests-"))
os.chmod(SESSION_DIR, 0o755)  # the embedded server runs as its own user when tests run as root

os.environ.update(
    {
        "WAREHOUSE_EMBEDDED_DIR": str(SESSION_DIR / "warehouse"),
        "WAREHOUSE_OUTPUTS_DIR": str(SESSION_DIR / "outputs"),
        "AIRFLOW_HOME": str(SESSION_DIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{SESSION_DIR / 'airflow' / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(SESSION_DIR / "airflow" / "logs"),
        "GX_ANALYTICS_ENABLED": "false",
        # Pipeline runs in tests load the small bundled extract unless a test points elsewhere.
        "WAREHOUSE_SOURCES": str(PROJECT_DIR / "ingestion" / "sources" / "sample_extract.yml"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # dbt's artifacts (manifest, partial-parse state, run results, logs) are the session's own, not
        # the project's target/: a developer's run is left alone, and parallel sessions don't share one.
        "DBT_TARGET_PATH": str(SESSION_DIR / "dbt-target"),
        # The documentation sites (dbt docs, Data Docs) cost a minute a run and are checked once, on the
        # session's sample_night (which switches them back on): the other runs skip them.
        "WAREHOUSE_DOCS": "0",
    }
)
# Great Expectations writes its validation results and Data Docs inside its context: each session validates
# with a copy of the project's context (its suites and checkpoints, without what earlier runs wrote).
shutil.copytree(
    PROJECT_DIR / "expectations" / "gx",
    SESSION_DIR / "expectations" / "gx",
    ignore=shutil.ignore_patterns("uncommitted", "__pycache__"),
)
os.environ["WAREHOUSE_EXPECTATIONS_DIR"] = str(SESSION_DIR / "expectations")
os.environ.pop("WAREHOUSE_URL", None)
os.environ.pop("WAREHOUSE_EMBEDDED", None)


def pytest_unconfigure(config):
    """The session's folder goes at the end, also in a process that ran no test (pytest-xdist's
    controller, whose workers each have a session, a folder and a server of their own)."""
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def keep_dbt_workers():
    """A test process runs step after step: its dbt worker is kept between them (transform.DbtSession)
    instead of starting dbt and loading its parse of the project again for each. The command-line runs
    the tests start are processes of their own, as in production, and keep nothing
    (``CW_TESTS_FRESH_DBT=1``: none kept here either)."""
    from complaints_warehouse import transform

    keep = os.environ.get("CW_TESTS_FRESH_DBT", "") in ("", "0")
    transform.keep_idle_workers(keep)
    yield
    transform.keep_idle_workers(False)


@pytest.fixture(scope="session", autouse=True)
def embedded_server():
    """One real PostgreSQL for the session, stopped and removed at the end."""
    from complaints_warehouse.warehouse import embedded_db

    embedded_dir = Path(os.environ["WAREHOUSE_EMBEDDED_DIR"])
    uri = embedded_db.start(embedded_dir)
    yield uri
    embedded_db.stop(embedded_dir)
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


#: The database every test's ``settings`` names, dropped and made anew for each test. One name for all:
#: dbt's partial parsing is only valid for the database it parsed for (the name is in its profile hash and
#: in every node), so a new name per test would cost a full parse of the project at each test's first dbt
#: command; with one name, each test reuses the last one's parse.
TEST_DATABASE = "test_warehouse"


def drop_database(embedded_server: str, name: str) -> None:
    """Drop ``name`` on the session's server if it exists, closing whatever is still connected to it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(embedded_server, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def settings(monkeypatch, embedded_server):
    """Settings pointing at a new, empty database on the session's server (``TEST_DATABASE``, dropped
    first: nothing of an earlier test's is left in it)."""
    from complaints_warehouse.settings import load_settings

    drop_database(embedded_server, TEST_DATABASE)
    monkeypatch.setenv("WAREHOUSE_EMBEDDED_DATABASE", TEST_DATABASE)
    return load_settings()


@pytest.fixture
def warehouse(settings):
    """The prepared warehouse (schemas and audit tables) for ``settings``."""
    from complaints_warehouse import pipeline

    return pipeline.prepare(settings)


@pytest.fixture
def sql(warehouse):
    """Run one query against the test warehouse and return all its rows."""
    from complaints_warehouse.warehouse import database

    def run(query: str, params=None):
        with database.connect(warehouse) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else None

    return run


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's SQLite metadata database, migrated once for the session."""
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=dict(os.environ))
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory) -> dict:
    """dbt's manifest of the project as it is, from one ``dbt parse`` per session into a folder of its own
    (the session's dbt target is left to the builds), for the tests that read the project's structure
    (tests/test_dbt_layers.py, tests/test_semantic_layer.py). Parsing connects to no database: the
    profile's variables only need a value."""
    import json

    from complaints_warehouse.transform import dbt_executable

    project = PROJECT_DIR / "dbt_project"
    target = tmp_path_factory.mktemp("dbt_parse")
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "WAREHOUSE_HOST": "localhost",
        "WAREHOUSE_USER": "parse_only",
        "WAREHOUSE_DBNAME": "parse_only",
    }
    parsed = subprocess.run(
        [dbt_executable(), "parse", "--project-dir", str(project)]
        + ["--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return json.loads((target / "manifest.json").read_text())


# --- Databases built once, copied per test ---------------------------------------------------------


def _server_connection(embedded_server: str):
    """The session's server, as the pipeline's ``Connection`` (its ``postgres`` database)."""
    from complaints_warehouse.warehouse.database import Connection

    return Connection.from_url(embedded_server, embedded=True)


def analyze(embedded_server: str, database: str) -> None:
    """Gather the planner's statistics in a database about to serve as a template.

    A copy keeps the template's statistics but not its activity counters, so autovacuum never analyzes
    a copy that is only read: a copy made before autovacuum reached the template would be planned
    without statistics for good (explain's query on such a copy of ``simulated_night``: two minutes
    instead of half a second). A warehouse left alone after a night is analyzed by autovacuum; this is
    that state, reached at once."""
    import psycopg

    with psycopg.connect(embedded_server, dbname=database, autocommit=True) as conn:
        conn.execute("analyze")


def copy_database(embedded_server: str, template: str, name: str) -> None:
    """``name`` becomes a copy of ``template`` (replacing any database of that name).

    PostgreSQL copies a database only while nobody is connected to it: connections left open to the
    template (Great Expectations keeps a pool) are closed first. Roles and their grants are server-wide,
    so the copy keeps them; so is the pseudonym key (beside the server's data, not in a database)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(embedded_server, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        for _ in range(20):
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = %s and pid <> pg_backend_pid()",
                (template,),
            )
            try:
                conn.execute(
                    sql.SQL("create database {} template {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                )
                return
            except psycopg.errors.ObjectInUse:  # a connection was closing as we copied: again
                continue
        raise RuntimeError(f"could not copy database {template}: it stays in use")


@pytest.fixture(scope="session")
def database_copier(embedded_server):
    """``copy(template, name)``: ``copy_database`` on the session's server, for tests that name their own
    databases (tests/test_crash_safety.py)."""
    return lambda template, name: copy_database(embedded_server, template, name)


def use_sources(settings, monkeypatch, *configs: Path) -> None:
    """Point a test at these source configuration files: its ``settings`` (the test's own object, made
    what ``load_settings`` now reads), and WAREHOUSE_SOURCES for the command lines and Airflow tasks it
    starts, which read the environment themselves. The settings are frozen in the product: only a
    test's fixtures, which hand one settings object to many steps, point them elsewhere afterwards."""
    monkeypatch.setenv("WAREHOUSE_SOURCES", ",".join(str(config) for config in configs))
    from complaints_warehouse.settings import load_settings

    object.__setattr__(settings, "sources", load_settings().sources)


def source_config(tmp_path: Path, database: str) -> Path:
    """The demo's own mapping file, pointed at the simulated case system in ``database``."""
    mapping = (PROJECT_DIR / "ingestion" / "sources" / "case_system_simulator.yml").read_text()
    config = tmp_path / f"simulator_{database}.yml"
    config.write_text(
        mapping.replace("warehouse-server:case_system_simulator", f"warehouse-server:{database}")
    )
    return config


@pytest.fixture(scope="session")
def simulated_source_template(embedded_server) -> str:
    """The simulated council case system as created (one council, 2023/24, seed 7), built once for the
    session in a template database; ``simulated_case_system`` gives each test a copy."""
    from complaints_warehouse import simulated_source

    database = "tpl_simulated_source"
    simulated_source.simulator(_server_connection(embedded_server), database).create(councils_count=1, seed=7)
    analyze(embedded_server, database)
    return database


@pytest.fixture
def simulated_case_system(
    settings, warehouse, tmp_path, monkeypatch, embedded_server, simulated_source_template
):
    """A simulated council case system (one council, 2023/24) in its own database, configured as the
    only case-system source through the demo's own mapping file. A copy of the session's template."""
    from complaints_warehouse import simulated_source

    database = f"sim_{uuid.uuid4().hex[:10]}"
    copy_database(embedded_server, simulated_source_template, database)
    use_sources(settings, monkeypatch, source_config(tmp_path, database))
    return simulated_source.simulator(warehouse, database)


@dataclass
class Night:
    """A warehouse after one clean nightly run (``pipeline.run_all``), kept as a template database.

    ``summary`` is the run's summary; ``outputs`` the folder it wrote its outputs to; ``source`` the
    template of the simulated case system it loaded, if any (unchanged by the run)."""

    database: str
    summary: dict
    outputs: Path
    source: str | None = None


def _build_night(
    embedded_server: str, name: str, outputs: Path, sources: Path | None, *, docs: bool = False
) -> Night:
    from complaints_warehouse import pipeline
    from complaints_warehouse.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_EMBEDDED_DATABASE", name)
        mp.setenv("WAREHOUSE_OUTPUTS_DIR", str(outputs))
        mp.setenv("WAREHOUSE_DOCS", "1" if docs else "0")
        if sources:
            mp.setenv("WAREHOUSE_SOURCES", str(sources))
        summary = pipeline.run_all(load_settings(), driver="cli", echo=lambda line: None)
    analyze(embedded_server, name)
    return Night(database=name, summary=summary, outputs=outputs)


@pytest.fixture(scope="session")
def sample_night(embedded_server, tmp_path_factory) -> Night:
    """The bundled sample extract (WAREHOUSE_SOURCES' default in tests) after one clean nightly run:
    loaded, built by dbt, validated, published and reported, with its documentation sites (dbt docs,
    Data Docs: the only run of the session that writes them). Built once per session."""
    return _build_night(
        embedded_server, "tpl_sample_night", tmp_path_factory.mktemp("sample_night"), None, docs=True
    )


@pytest.fixture(scope="session")
def simulated_night(embedded_server, simulated_source_template, tmp_path_factory) -> Night:
    """The simulated council (``simulated_source_template``) after one clean nightly run: its case
    system, the reference data and the Ombudsman samples loaded, built, validated, published, reported."""
    source = "tpl_simulated_night_source"
    copy_database(embedded_server, simulated_source_template, source)
    config = source_config(tmp_path_factory.mktemp("simulated_night_sources"), source)
    night = _build_night(
        embedded_server, "tpl_simulated_night", tmp_path_factory.mktemp("simulated_night"), config
    )
    night.source = simulated_source_template
    return night


@dataclass
class NightCopy:
    """A test's own copy of a ``Night``, in the database ``settings`` names; ``summary`` is the run's
    summary with its output paths moved to ``settings.outputs_dir``."""

    settings: object
    target: object
    summary: dict
    source: object = None  # the copy's simulated case system (a CaseSystemSimulator), if any


def copy_night(embedded_server: str, night: Night, settings, monkeypatch, tmp_path: Path) -> NightCopy:
    """Copy ``night`` into the database ``settings`` names (replacing it if ``warehouse`` made it already),
    its outputs into ``settings.outputs_dir`` and its simulated case system, if any, into a database of
    its own that WAREHOUSE_SOURCES then points at."""
    import json

    from complaints_warehouse import simulated_source
    from complaints_warehouse.warehouse import database

    copy_database(embedded_server, night.database, settings.database_name)
    shutil.copytree(night.outputs, settings.outputs_dir, dirs_exist_ok=True)
    # The run's summary file names its outputs: name the copies.
    summary_file = settings.outputs_dir / "last-run.json"
    if summary_file.exists():
        summary_file.write_text(
            summary_file.read_text().replace(str(night.outputs), str(settings.outputs_dir))
        )
    target = database.resolve(settings)
    sim = None
    if night.source:
        source = f"sim_{uuid.uuid4().hex[:10]}"
        copy_database(embedded_server, night.source, source)
        use_sources(settings, monkeypatch, source_config(tmp_path, source))
        sim = simulated_source.simulator(target, source)
    summary = json.loads(
        json.dumps(night.summary, default=str).replace(str(night.outputs), str(settings.outputs_dir))
    )
    return NightCopy(settings=settings, target=target, summary=summary, source=sim)


@pytest.fixture(scope="session")
def night_copier(embedded_server):
    """``copy(night, settings, monkeypatch, tmp_path)``: ``copy_night`` on the session's server, for
    fixtures of a wider scope than a test's (a module's shared copy)."""
    return lambda night, settings, monkeypatch, tmp_path: copy_night(
        embedded_server, night, settings, monkeypatch, tmp_path
    )


@pytest.fixture
def after_sample_night(sample_night, embedded_server, settings, monkeypatch, tmp_path) -> NightCopy:
    """This test's own copy of ``sample_night``, in the database ``settings``, ``warehouse`` and ``sql``
    reach."""
    return copy_night(embedded_server, sample_night, settings, monkeypatch, tmp_path)


@pytest.fixture
def after_simulated_night(simulated_night, embedded_server, settings, monkeypatch, tmp_path) -> NightCopy:
    """This test's own copy of ``simulated_night`` and of its simulated case system (``.source``, as
    ``simulated_case_system`` would give it), in the databases ``settings``/``warehouse``/``sql`` and
    WAREHOUSE_SOURCES reach."""
    return copy_night(embedded_server, simulated_night, settings, monkeypatch, tmp_path)
