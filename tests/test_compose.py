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
    assert "airflow db migrate" in " ".join(SERVICES["airflow-init"]["command"])


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
