"""Test set-up: a real embedded PostgreSQL and a local Airflow home, both private to this test session.

The environment is set before anything imports Airflow, which reads its configuration once at import.
Each test that needs a warehouse gets a fresh database on the session's server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
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
    }
)
os.environ.pop("WAREHOUSE_URL", None)
os.environ.pop("WAREHOUSE_EMBEDDED", None)


@pytest.fixture(scope="session", autouse=True)
def embedded_server():
    """One real PostgreSQL for the session, stopped and removed at the end."""
    from complaints_warehouse import embedded_db

    embedded_dir = Path(os.environ["WAREHOUSE_EMBEDDED_DIR"])
    uri = embedded_db.start(embedded_dir)
    yield uri
    embedded_db.stop(embedded_dir)
    shutil.rmtree(SESSION_DIR, ignore_errors=True)


@pytest.fixture
def settings(monkeypatch):
    """Settings pointing at a new, empty database on the session's server."""
    from complaints_warehouse.settings import load_settings

    monkeypatch.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_{uuid.uuid4().hex[:12]}")
    return load_settings()


@pytest.fixture
def warehouse(settings):
    """The prepared warehouse (schemas and audit tables) for ``settings``."""
    from complaints_warehouse import pipeline

    return pipeline.prepare(settings)


@pytest.fixture
def sql(warehouse):
    """Run one query against the test warehouse and return all its rows."""
    from complaints_warehouse import database

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


@pytest.fixture
def simulated_case_system(settings, warehouse, tmp_path, monkeypatch):
    """A simulated council case system (one council, 2023/24) in its own database, configured as the
    only case-system source through the demo's own mapping file."""
    from complaints_warehouse import simulated_source

    database = f"sim_{uuid.uuid4().hex[:10]}"
    sim = simulated_source.simulator(warehouse, database)
    sim.create(councils_count=1, seed=7)
    mapping = (PROJECT_DIR / "ingestion" / "sources" / "case_system_simulator.yml").read_text()
    config = tmp_path / "simulator.yml"
    config.write_text(
        mapping.replace("warehouse-server:case_system_simulator", f"warehouse-server:{database}")
    )
    monkeypatch.setenv("WAREHOUSE_SOURCES", str(config))
    return sim
