"""A BI tool connects to the quick-start warehouse: over TCP, as ``bi_reader``, seeing the marts' foreign
keys and nothing outside ``marts`` and ``published``; and ``make run`` says what it did in a few lines.

The warehouse is what `make run` leaves: its two commands (`simulator create --if-missing`, then
`airflow-run`: the nightly DAG through Airflow) on an embedded server and an Airflow home of their own
(opening the session's shared server to TCP would restart it under the other tests), then
``complaints-warehouse db serve``. The client is psycopg over TCP with the password, as
Metabase or Power BI would log in; the relationships are read with the catalog query a JDBC driver's
``DatabaseMetaData.getImportedKeys`` runs (pg_constraint's foreign keys, column by column).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
CLI = str(Path(sys.executable).with_name("complaints-warehouse"))
PASSWORD = "bi reader's 'pw'"

#: The foreign keys as a JDBC driver's getImportedKeys finds them: one row per column of each foreign key
#: of the table, with the table and column it references.
IMPORTED_KEYS = """
select fk_ns.nspname, fk_table.relname, fk_column.attname, pk_ns.nspname, pk_table.relname, pk_column.attname
from pg_catalog.pg_constraint as con
cross join lateral generate_subscripts(con.conkey, 1) as position (n)
inner join pg_catalog.pg_class as fk_table on fk_table.oid = con.conrelid
inner join pg_catalog.pg_namespace as fk_ns on fk_ns.oid = fk_table.relnamespace
inner join pg_catalog.pg_attribute as fk_column
    on fk_column.attrelid = con.conrelid and fk_column.attnum = con.conkey[position.n]
inner join pg_catalog.pg_class as pk_table on pk_table.oid = con.confrelid
inner join pg_catalog.pg_namespace as pk_ns on pk_ns.oid = pk_table.relnamespace
inner join pg_catalog.pg_attribute as pk_column
    on pk_column.attrelid = con.confrelid and pk_column.attnum = con.confkey[position.n]
where con.contype = 'f' and fk_ns.nspname = 'marts'
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    folder = Path(tempfile.mkdtemp(prefix="cw-bi-"))
    os.chmod(folder, 0o755)  # the embedded server runs as its own user when tests run as root
    env = {
        **{k: v for k, v in os.environ.items() if k != "WAREHOUSE_SOURCES"},  # make run's default source
        "WAREHOUSE_EMBEDDED_DIR": str(folder / "warehouse"),
        "WAREHOUSE_OUTPUTS_DIR": str(folder / "outputs"),
        "WAREHOUSE_EMBEDDED_DATABASE": "complaints_warehouse",
        "WAREHOUSE_BI_READER_PASSWORD": PASSWORD,
        "AIRFLOW_HOME": str(folder / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{folder / 'airflow' / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder / "airflow" / "logs"),
    }
    env.pop("VERBOSE", None)
    try:
        printed = []
        for command in (["simulator", "create", "--if-missing"], ["airflow-run"]):  # the Makefile's run
            done = subprocess.run([CLI, *command], env=env, capture_output=True, text=True, timeout=1800)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            printed += (done.stdout + done.stderr).splitlines()
        port = free_port()
        serve = subprocess.run(
            [CLI, "db", "serve", "--port", str(port)], env=env, capture_output=True, text=True, timeout=120
        )
        assert serve.returncode == 0, serve.stdout + serve.stderr
        assert f"port {port}" in serve.stdout and PASSWORD not in serve.stdout + serve.stderr
        yield port, env, printed
    finally:
        subprocess.run([CLI, "db", "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def bi_connect(port: int, password: str | None = PASSWORD, user: str = "bi_reader") -> psycopg.Connection:
    return psycopg.connect(
        host="localhost", port=port, dbname="complaints_warehouse", user=user, password=password
    )


def declared_joins() -> set[tuple[str, str, str, str]]:
    """(fact, column, dimension, its key) for every relationships test from a model BI tools read (the
    marts and reporting layers, both in schema marts) to a dim_ model."""
    joins = set()
    models = PROJECT_DIR / "dbt_project" / "models"
    for path in [*(models / "marts").rglob("*.yml"), *(models / "reporting").rglob("*.yml")]:
        for model in yaml.safe_load(path.read_text()).get("models", []):
            for column in model.get("columns", []):
                for test in column.get("data_tests", column.get("tests", [])) or []:
                    if isinstance(test, dict) and "relationships" in test:
                        spec = test["relationships"].get("arguments", test["relationships"])
                        parent = spec["to"].split("'")[1]
                        if parent.startswith("dim_"):
                            joins.add((model["name"], column["name"], parent, spec["field"]))
    return joins


def test_bi_reader_logs_in_over_tcp_with_its_password_and_nobody_gets_in_without_one(served):
    port, *_ = served
    with bi_connect(port) as conn:
        assert conn.execute("select current_user, inet_server_port()").fetchone() == ("bi_reader", port)
        assert conn.info.host == "localhost"
    for user, password in (("postgres", None), ("bi_reader", "wrong"), ("bi_reader", None)):
        with pytest.raises(psycopg.OperationalError):
            bi_connect(port, password, user).close()


def test_bi_tools_see_a_foreign_key_for_every_join_from_a_fact_to_its_dimension(served):
    port, *_ = served
    with bi_connect(port) as conn:
        imported = {
            (table, column, parent, key)
            for _, table, column, schema, parent, key in conn.execute(IMPORTED_KEYS).fetchall()
            if schema == "marts"
        }
    expected = declared_joins()
    assert len(expected) >= 20
    assert {j for j in expected if j[0].startswith("fct_")} <= imported, expected - imported
    assert expected <= imported, expected - imported
    # every fact has at least one, and they point at dimensions only
    assert {t for t, *_ in imported} >= {
        "fct_representations",
        "fct_complaint_stages",
        "fct_complaint_points",
        "fct_remedies",
        "fct_payments",
        "fct_ombudsman_annual_statistics",
        "fct_ombudsman_decisions",
    }
    assert all(parent.startswith("dim_") for _, _, parent, _ in imported)


def test_bi_reader_sees_nothing_outside_marts_and_published(served):
    port, *_ = served
    with bi_connect(port) as conn:
        visible = {
            schema
            for (schema,) in conn.execute(
                "select distinct table_schema from information_schema.tables "
                "where table_schema not in ('pg_catalog', 'information_schema')"
            ).fetchall()
        }
        assert visible == {"marts", "published"}, visible
        assert conn.execute("select count(*) > 0 from marts.fct_representations").fetchone() == (True,)
    for table in ("raw_case_system.representations", "restricted.complainants", "audit.load_batches"):
        with bi_connect(port) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"select 1 from {table} limit 1")


def test_db_serve_needs_the_bi_reader_password_and_says_so():
    env = {k: v for k, v in os.environ.items() if k != "WAREHOUSE_BI_READER_PASSWORD"}
    result = subprocess.run([CLI, "db", "serve"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "WAREHOUSE_BI_READER_PASSWORD" in result.stderr and "Traceback" not in result.stderr


def test_make_run_prints_each_task_and_the_summary_in_at_most_40_lines(served):
    *_, printed = served
    assert len(printed) + 2 <= 40, "\n".join(printed)  # + make's echo of its two commands
    text = "\n".join(printed)
    for task in ("load_case_system", "transform", "validate", "publish", "report"):
        assert f"  {task}: success" in text, text
    assert "DAG case_system_nightly: success" in text
    assert "expectations passed" in text
    log = next(line for line in printed if line.startswith("Full log: ")).split()[2]
    assert "dbt" in Path(log).read_text(), "Airflow's and dbt's own output is kept in the log"


def test_the_bmmr_period_views_sum_as_bi_tools_sum_them(served):
    port, *_ = served
    with bi_connect(port) as conn:
        for view in ("bmmr_month", "bmmr_financial_year_to_date", "bmmr_same_month_last_year"):
            columns = [
                name
                for (name,) in conn.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = %s",
                    (view,),
                ).fetchall()
            ]
            assert "complaints_received" in columns and "stage_1_responded" in columns, columns
            assert "period" not in columns and not [c for c in columns if c.endswith("_pct")], columns
        # A BI tool's default sum: the months of a financial year add up to its year to date at March.
        month_sum, year_to_date = conn.execute(
            "select (select sum(complaints_received) from marts.bmmr_month where financial_year = '2023/24'), "
            "(select sum(complaints_received) from marts.bmmr_financial_year_to_date "
            "where report_month = '2024-03-01')"
        ).fetchone()
        assert month_sum == year_to_date and month_sum > 0, (month_sum, year_to_date)


def test_bi_reads_the_current_version_of_every_published_figure(served):
    port, *_ = served
    with bi_connect(port) as conn:
        current = conn.execute(
            "select report_month, version, count(*) from published.bmmr_current group by 1, 2"
        ).fetchall()
        latest = conn.execute(
            "select report_month, max(version) from published.bmmr_publications group by 1"
        ).fetchall()
        figures = conn.execute(
            "select f.report_month, count(*) from published.bmmr_figures f "
            "join (select report_month, max(version) as version from published.bmmr_publications group by 1) l "
            "using (report_month, version) group by 1"
        ).fetchall()
    assert latest, "make run publishes a month"
    assert {(month, version) for month, version, _ in current} == set(latest)
    assert {(month, cells) for month, _, cells in current} == set(figures)
