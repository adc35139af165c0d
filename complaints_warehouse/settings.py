"""Settings, read once from the environment. No credentials live in the repository.

Every setting has a default that works on a fresh clone: without ``WAREHOUSE_URL`` the warehouse is an
embedded PostgreSQL whose data lives under ``.warehouse/`` in the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("WAREHOUSE_PROJECT_DIR", Path(__file__).resolve().parents[1]))


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a yes/no value: use 1/0, true/false, yes/no or on/off.")


def _path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default


@dataclass(frozen=True)
class Settings:
    """Where the warehouse is, where its inputs come from and where its outputs go."""

    warehouse_url: str | None
    embedded_enabled: bool
    embedded_dir: Path
    database_name: str
    project_dir: Path
    outputs_dir: Path
    case_system_dir: Path
    ombudsman_dir: Path
    reference_dir: Path

    def source_dir(self, source: str) -> Path:
        """The folder a source's files are read from."""
        return {
            "case_system": self.case_system_dir,
            "ombudsman": self.ombudsman_dir,
            "reference": self.reference_dir,
        }[source]

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_dir / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_dir / "expectations"

    @property
    def airflow_home(self) -> Path:
        return _path("AIRFLOW_HOME", self.project_dir / ".airflow")

    @property
    def data_docs_dir(self) -> Path:
        return self.expectations_dir / "gx" / "uncommitted" / "data_docs" / "local_site"


def load_settings() -> Settings:
    """Read the settings from the environment (see ``.env.example`` for every variable)."""
    url = os.environ.get("WAREHOUSE_URL", "").strip() or None
    database_name = os.environ.get("WAREHOUSE_EMBEDDED_DATABASE", "complaints_warehouse").strip()
    if not database_name.replace("_", "").isalnum():
        raise SettingsError(
            f"WAREHOUSE_EMBEDDED_DATABASE={database_name!r} must be letters, digits and underscores only."
        )
    return Settings(
        warehouse_url=url,
        embedded_enabled=_flag("WAREHOUSE_EMBEDDED", True),
        embedded_dir=_path("WAREHOUSE_EMBEDDED_DIR", PROJECT_DIR / ".warehouse"),
        database_name=database_name,
        project_dir=PROJECT_DIR,
        outputs_dir=_path("WAREHOUSE_OUTPUTS_DIR", PROJECT_DIR / "outputs"),
        case_system_dir=_path(
            "CASE_SYSTEM_EXTRACT_DIR", PROJECT_DIR / "ingestion" / "case_system" / "sample"
        ),
        ombudsman_dir=_path("OMBUDSMAN_DATA_DIR", PROJECT_DIR / "ingestion" / "ombudsman" / "sample"),
        reference_dir=_path("REFERENCE_DATA_DIR", PROJECT_DIR / "ingestion" / "reference" / "data"),
    )
