"""docker-compose.yml cannot run here (no Docker engine): check its structure instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
LONG_RUNNING = [
    "postgres",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "metabase",
]


def test_the_stack_has_every_service():
    assert set(SERVICES) == {"airflow-init", *LONG_RUNNING}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned(name):
    service = SERVICES[name]
    image = service["image"]
    assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+[\w.-]*", image), (
        f"{name}: {image} is not pinned to a version"
    )
    assert "latest" not in image


def test_airflow_image_matches_the_pinned_airflow():
    dockerfile = (ROOT / "docker" / "airflow.Dockerfile").read_text()
    constraints = (ROOT / "constraints.txt").read_text()
    version = re.search(r"^apache-airflow==([\d.]+)$", constraints, re.M).group(1)
    assert f"FROM apache/airflow:{version}-python3.11" in dockerfile
    assert "-c /opt/complaints-warehouse/constraints.txt" in dockerfile


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_health_checks(name):
    assert SERVICES[name]["healthcheck"]["test"]


def test_airflow_services_mount_the_dags_and_reach_the_api_server():
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        service = SERVICES[name]
        assert "./dags:/opt/airflow/dags:ro" in service["volumes"]
        assert service["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
            "http://airflow-apiserver:8080"
        )
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert SERVICES["airflow-apiserver"]["command"] == "api-server"
    assert "/api/v2/version" in " ".join(SERVICES["airflow-apiserver"]["healthcheck"]["test"])
    # The official image's entrypoint migrates the metadata database when asked to (as the official file).
    assert SERVICES["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert "/entrypoint airflow version" in " ".join(SERVICES["airflow-init"]["command"])


def test_no_secret_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for match in re.finditer(r"^\s*([A-Z_]*(?:PASSWORD|PASS|SECRET)[A-Z_]*):\s*(\S+)", text, re.M):
        if match.group(1).endswith("_FILE"):
            continue  # a path to where a secret is kept, not a secret
        assert match.group(2).startswith("${"), match.group(0)
    for url in re.findall(r"postgresql\S*://\S+", text):
        assert re.search(r":\$\{\w+:\?", url), f"{url} carries a literal password"


def test_every_variable_the_compose_file_needs_is_in_the_example_env():
    needed = set(
        re.findall(r"(?<!\$)\$\{(\w+)", (ROOT / "docker-compose.yml").read_text())
    )  # $${X}: the shell's
    example = {
        line.split("=")[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert needed <= example, needed - example
    assert all(
        not line.split("=", 1)[1]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    ), ".env.example must not carry values"


# What the official Airflow 3 compose file does (apache/airflow,
# airflow-core/docs/howto/docker-compose/docker-compose.yaml, Apache License 2.0), which ours must too:
# every Airflow service runs as the host user's id and group 0; airflow-init runs as root, calls the image's
# /entrypoint (umask 0002, database migration) and hands /opt/airflow to that user.
OFFICIAL_USER = "${AIRFLOW_UID:-50000}:0"
OFFICIAL_INIT_USER = "0:0"
OFFICIAL_INIT_STEPS = ("/entrypoint airflow version", 'chown -R "${AIRFLOW_UID}:0" /opt/airflow/')
AIRFLOW_SERVICES = [name for name in SERVICES if name.startswith("airflow-")]


def init_script() -> str:
    return " ".join(SERVICES["airflow-init"]["command"]).replace("$$", "$")


@pytest.mark.parametrize("name", sorted(set(AIRFLOW_SERVICES) - {"airflow-init"}))
def test_airflow_services_run_as_the_host_user_in_group_root_as_the_official_file(name):
    assert SERVICES[name]["user"] == OFFICIAL_USER


def test_airflow_init_runs_the_official_steps_and_hands_every_file_to_the_airflow_user():
    init = SERVICES["airflow-init"]
    assert init["user"] == OFFICIAL_INIT_USER
    script = init_script()
    for step in OFFICIAL_INIT_STEPS:
        assert step in script, step
    assert "umask 0002" in script
    # Everything the services write is under /opt/airflow, so the chown covers it: the simple auth
    # manager's passwords file (opened for append by the api-server), the logs, data and outputs.
    assert init["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(
        "/opt/airflow/"
    )
    written = [v.split(":")[1] for v in init["volumes"] if not v.endswith(":ro")]
    assert all(path.startswith("/opt/airflow/") for path in written), written
    # The chown comes after every step that writes files as root.
    assert script.index("chown -R") > max(
        script.index(s) for s in ("passwords.json", "complaints-warehouse db init", "simulator create")
    )


def test_data_folders_and_outputs_are_bind_mounts_the_host_can_open_and_the_settings_point_there():
    volumes = SERVICES["airflow-scheduler"]["volumes"]
    env = SERVICES["airflow-scheduler"]["environment"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in volumes}
    assert mounts["/opt/airflow/data"] == "./data"
    assert mounts["/opt/airflow/outputs"] == "./outputs"
    for setting in ("OMBUDSMAN_DATA_DIR", "REFERENCE_DATA_DIR", "CASE_SYSTEM_EXTRACT_DIR"):
        assert env[setting].startswith("/opt/airflow/data/"), setting
    assert env["WAREHOUSE_OUTPUTS_DIR"] == "/opt/airflow/outputs"
    assert env["WAREHOUSE_EMBEDDED"] == "0", "the stack must never fall back to an embedded server"


#: Settings the code reads that the stack need not pass, and why.
NOT_PASSED = {
    "WAREHOUSE_EMBEDDED_DIR": "the embedded server only (the stack forbids it)",
    "WAREHOUSE_EMBEDDED_DATABASE": "the embedded server only",
    "WAREHOUSE_PROJECT_DIR": "set by the image (docker/airflow.Dockerfile)",
    "WAREHOUSE_CRASH_AT": "a test-only fault hook",
    "WAREHOUSE_EXPECTATIONS_DIR": "the test suite's own copy of the Great Expectations context",
    "WAREHOUSE_PAUSE_AT": "a test-only fault hook",
    "WAREHOUSE_BI_READER_PASSWORD": "bi_reader's login is made by docker/postgres-init from BI_READER_PASSWORD",
}


#: Where the code reads a setting: os.environ[...] / .get(...), os.getenv(...), settings' _path / _flag.
SETTING_READ = r"(?:environ(?:\.get)?\(?\[?|getenv\(|_path\(|_flag\()\s*[\"']([A-Z][A-Z0-9_]+)[\"']"


def test_every_setting_the_code_reads_is_passed_to_the_airflow_services():
    read = set()
    for folder in ("complaints_warehouse", "ingestion", "dags", "case_system_simulator"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            read |= set(re.findall(SETTING_READ, text))
    read |= {f"WAREHOUSE_{job}_PASSWORD" for job in ("LOADER", "TRANSFORMER", "BI_READER")}
    passed = set(SERVICES["airflow-scheduler"]["environment"])
    dockerfile = (ROOT / "docker" / "airflow.Dockerfile").read_text()
    passed |= set(re.findall(r"^ENV (\w+)=", dockerfile, re.M))
    missing = {
        name
        for name in read - passed - set(NOT_PASSED)
        if name.startswith(("WAREHOUSE_", "ALERT_", "OMBUDSMAN_", "REFERENCE_", "CASE_SYSTEM_", "GX_"))
    }
    assert not missing, f"read by the code but not passed by docker-compose.yml: {sorted(missing)}"
    assert "WAREHOUSE_URL" in passed and "WAREHOUSE_PSEUDONYM_KEY" in passed


def test_metabase_encrypts_the_logins_it_stores():
    assert SERVICES["metabase"]["environment"]["MB_ENCRYPTION_SECRET_KEY"].startswith("${")


def test_the_postgres_init_script_never_splices_a_password_into_sql():
    script = (ROOT / "docker" / "postgres-init" / "01-databases.sh").read_text()
    assert "<<'SQL'" in script, "a quoted here-document: the shell expands nothing inside the SQL"
    assert not re.search(r"password\s+'\$", script)
    for role in ("warehouse", "airflow", "metabase", "bi_reader"):
        assert f"password :'{role}_pw'" in script
