"""Settings, read once from the environment. No credentials live in the repository.

Every setting has a default that works on a fresh clone: without ``WAREHOUSE_URL`` the warehouse is an
embedded PostgreSQL whose data lives under ``.warehouse/`` in the project.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from complaints_warehouse.errors import ConfigError

PROJECT_DIR = Path(os.environ.get("WAREHOUSE_PROJECT_DIR", Path(__file__).resolve().parents[1]))


class SettingsError(ConfigError, ValueError):
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


#: How many years personal data is kept after a complainant's last case closed, unless set.
DEFAULT_RETENTION_YEARS = 6

#: The warehouse's database roles, by job (see ``complaints_warehouse.warehouse.roles``).
ROLE_JOBS = ("loader", "transformer", "bi_reader")


@dataclass(frozen=True)
class RoleLogins:
    """The warehouse's roles as the settings name them: ``WAREHOUSE_ROLE_PREFIX`` before each job's name
    (``lbc_`` gives ``lbc_loader``..., so two warehouses on one server keep separate roles), and the
    passwords of those that log in as themselves (``WAREHOUSE_<JOB>_PASSWORD``, or from a driver: Airflow's
    connections). A role without one cannot log in; the pipeline switches to it (SET ROLE) after
    connecting. Passwords are never printed (not in the repr)."""

    prefix: str = ""
    passwords: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def name(self, job: str) -> str:
        """The database role for ``job`` (``loader``, ``transformer``, ``bi_reader``), with the prefix."""
        return self.prefix + _job(job)

    def password(self, job: str) -> str | None:
        return dict(self.passwords).get(_job(job))

    def with_passwords(self, given: dict[str, str]) -> RoleLogins:
        """These logins with passwords a driver keeps (Airflow's connections) for the roles that have
        none from the environment: the environment's own always comes first."""
        unknown = set(given) - set(ROLE_JOBS)
        if unknown:
            raise ValueError(f"unknown role job(s) {sorted(unknown)}")
        merged = {**{job: p for job, p in given.items() if p}, **dict(self.passwords)}
        return RoleLogins(self.prefix, tuple(sorted(merged.items())))


def _job(job: str) -> str:
    if job not in ROLE_JOBS:
        raise ValueError(f"unknown role job {job!r}")
    return job


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
    #: The Great Expectations project (its ``gx`` context), and so where validation results and Data Docs
    #: are written: WAREHOUSE_EXPECTATIONS_DIR, else the project's (the test suite's sessions each use a
    #: copy of their own).
    expectations_dir: Path
    #: Airflow's home (AIRFLOW_HOME, else ``.airflow`` in the project): ``make run``'s metadata and logs.
    airflow_home: Path
    #: Public reports show counts from 1 to this less one as "<threshold" (WAREHOUSE_SUPPRESSION_THRESHOLD).
    suppression_threshold: int = 5
    #: The council the reports benchmark (WAREHOUSE_COUNCIL: a name or ONS code); None: work it out.
    council: str | None = None
    #: Whether a run writes the documentation sites (WAREHOUSE_DOCS, default yes): the dbt docs page
    #: (``dbt docs generate``) and Great Expectations' Data Docs. The test suite switches them off except
    #: for the runs whose tests check them: they cost a minute a run and change only with the code.
    write_docs: bool = True
    #: A council's own report templates (WAREHOUSE_REPORT_TEMPLATES): a file there named like one in
    #: complaints_warehouse/reports/templates is used instead of it (docs/architecture.md, Reporting).
    report_templates_dir: Path | None = None
    #: The roles' names and passwords (WAREHOUSE_ROLE_PREFIX, WAREHOUSE_<JOB>_PASSWORD).
    roles: RoleLogins = RoleLogins()
    #: The source systems' configuration files (WAREHOUSE_SOURCES, comma-separated); empty: the demo's
    #: simulated case system (``source_configs``).
    sources: tuple[Path, ...] = ()
    #: How many years personal data is kept (WAREHOUSE_RETENTION_YEARS), or why the value given was refused:
    #: refused where it is used (``retention_years``), so that a mistyped period fails the purge alone,
    #: never the nightly load, nor the failure alert's record of the purge (which read the settings too).
    retention: int | Refused = DEFAULT_RETENTION_YEARS
    #: WAREHOUSE_PSEUDONYM_KEY as given (empty: none); see ``pseudonym_key``. Never printed.
    pseudonym_key_given: str = field(default="", repr=False)

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
    def source_configs(self) -> list[Path]:
        """The source systems to load: ``sources`` (WAREHOUSE_SOURCES), or the demo's simulated case system."""
        return list(self.sources) or [
            self.project_dir / "ingestion" / "sources" / "case_system_simulator.yml"
        ]

    def retention_years(self) -> int:
        """How many years after a complainant's last case closed their personal data is kept (default 6:
        the usual council schedule). Raises ``SettingsError`` if WAREHOUSE_RETENTION_YEARS was malformed."""
        if isinstance(self.retention, Refused):
            raise SettingsError(self.retention.why)
        return self.retention

    def pseudonym_key(self) -> str:
        """The secret that turns personal identifiers into pseudonyms; never stored in the repository.

        ``WAREHOUSE_PSEUDONYM_KEY`` when set. With the embedded database, a random key is made once and
        kept beside its data (``.warehouse/pseudonym.key``); a real warehouse must be given one.
        """
        key = self.pseudonym_key_given
        if key:
            if len(key) < 16:
                raise SettingsError("WAREHOUSE_PSEUDONYM_KEY must be at least 16 characters long.")
            return key
        if self.warehouse_url:
            raise SettingsError(
                "WAREHOUSE_PSEUDONYM_KEY is not set: with WAREHOUSE_URL, set a long random secret (and keep it: "
                "changing it changes every pseudonym)."
            )
        path = self.embedded_dir / "pseudonym.key"
        if not path.exists():
            import secrets

            from complaints_warehouse.outputs import OutputExists, write_atomic

            # Private from its first byte, never half-written; if another process made it meanwhile, use theirs.
            with contextlib.suppress(OutputExists):
                write_atomic(path, secrets.token_hex(32), mode=0o600, exclusive=True)
        return path.read_text().strip()

    @property
    def data_docs_dir(self) -> Path:
        return self.expectations_dir / "gx" / "uncommitted" / "data_docs" / "local_site"


def load_settings() -> Settings:
    """Read the settings from the environment (see ``.env.example`` for every variable)."""
    url = os.environ.get("WAREHOUSE_URL", "").strip() or None
    database_name = os.environ.get("WAREHOUSE_EMBEDDED_DATABASE", "complaints_warehouse").strip()
    from ingestion.identifiers import is_identifier  # lazily: DAG files import settings while parsed

    if not is_identifier(database_name):
        raise SettingsError(
            f"WAREHOUSE_EMBEDDED_DATABASE={database_name!r} must be letters, digits and underscores only "
            "(not starting with a digit, at most 63 characters)."
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
        expectations_dir=_path("WAREHOUSE_EXPECTATIONS_DIR", PROJECT_DIR / "expectations"),
        airflow_home=_path("AIRFLOW_HOME", PROJECT_DIR / ".airflow"),
        suppression_threshold=_suppression_threshold(),
        council=os.environ.get("WAREHOUSE_COUNCIL", "").strip() or None,
        write_docs=_flag("WAREHOUSE_DOCS", True),
        report_templates_dir=_report_templates_dir(),
        roles=RoleLogins(_role_prefix(), _role_passwords()),
        sources=_sources(),
        retention=_retention(),
        pseudonym_key_given=os.environ.get("WAREHOUSE_PSEUDONYM_KEY", "").strip(),
    )


def _sources() -> tuple[Path, ...]:
    raw = os.environ.get("WAREHOUSE_SOURCES", "").strip()
    return tuple(Path(p.strip()).expanduser().resolve() for p in raw.split(",") if p.strip())


def _report_templates_dir() -> Path | None:
    raw = os.environ.get("WAREHOUSE_REPORT_TEMPLATES", "").strip()
    if not raw:
        return None
    folder = Path(raw).expanduser().resolve()
    if not folder.is_dir():
        raise SettingsError(
            f"WAREHOUSE_REPORT_TEMPLATES={raw!r} is not a folder: name the folder holding your report "
            "templates (e.g. report.html.j2), or leave it unset for the templates shipped."
        )
    return folder


def _suppression_threshold() -> int:
    return _whole_number(
        "WAREHOUSE_SUPPRESSION_THRESHOLD",
        5,
        why=' (public reports show counts below it as "<N"; 1 suppresses nothing)',
    )


def _role_prefix() -> str:
    """``WAREHOUSE_ROLE_PREFIX``: prepended to every role the project creates. Empty by default."""
    prefix = os.environ.get("WAREHOUSE_ROLE_PREFIX", "").strip()
    from ingestion.identifiers import is_identifier

    if prefix and not is_identifier(prefix + "x"):
        raise SettingsError(
            f"WAREHOUSE_ROLE_PREFIX={prefix!r} must be letters, digits and underscores, not starting with a digit."
        )
    if len(prefix) > 40:
        raise SettingsError(
            "WAREHOUSE_ROLE_PREFIX must be at most 40 characters (role names are limited to 63)."
        )
    return prefix


def _role_passwords() -> tuple[tuple[str, str], ...]:
    """``WAREHOUSE_<JOB>_PASSWORD`` (e.g. ``WAREHOUSE_LOADER_PASSWORD``) of each role that has one. Never
    stored in the repository or printed."""
    found = ((job, os.environ.get(f"WAREHOUSE_{job.upper()}_PASSWORD", "").strip()) for job in ROLE_JOBS)
    return tuple((job, password) for job, password in found if password)


@dataclass(frozen=True)
class Refused:
    """A setting's value refused when the settings were read, kept to be raised where it is used."""

    why: str


def _retention() -> int | Refused:
    try:
        return _whole_number("WAREHOUSE_RETENTION_YEARS", DEFAULT_RETENTION_YEARS, unit="years", most=100)
    except SettingsError as refused:
        return Refused(str(refused))


@dataclass(frozen=True)
class AlertSettings:
    """Where a failed run is announced (``alerts``): a webhook, and/or an email through an SMTP server."""

    webhook_url: str
    email_to: str
    smtp_host: str
    smtp_port: str
    smtp_user: str
    smtp_password: str
    email_from: str


def alert_settings() -> AlertSettings:
    """``ALERT_WEBHOOK_URL``; ``ALERT_EMAIL_TO`` with ``ALERT_SMTP_HOST`` (and ``ALERT_SMTP_PORT``,
    ``ALERT_SMTP_USER``, ``ALERT_SMTP_PASSWORD``, ``ALERT_EMAIL_FROM``). Empty: that channel is off."""
    return AlertSettings(
        webhook_url=os.environ.get("ALERT_WEBHOOK_URL", "").strip(),
        email_to=os.environ.get("ALERT_EMAIL_TO", "").strip(),
        smtp_host=os.environ.get("ALERT_SMTP_HOST", "").strip(),
        smtp_port=os.environ.get("ALERT_SMTP_PORT", "25").strip() or "25",
        smtp_user=os.environ.get("ALERT_SMTP_USER", ""),
        smtp_password=os.environ.get("ALERT_SMTP_PASSWORD", ""),
        email_from=os.environ.get("ALERT_EMAIL_FROM", "").strip(),  # empty: the channel's default sender
    )


def environment_value(name: str) -> str | None:
    """A variable a source system's YAML names as ``${NAME}`` (e.g. ``url: ${CASE_SYSTEM_URL}``, so the
    file holds no password): the environment's value, or None when it is not set. The one read of a
    variable whose name is not the warehouse's own (``ingestion.source_config`` expands them)."""
    return os.environ.get(name)


def verbose() -> bool:
    """``VERBOSE`` (any value but empty or 0): show Airflow's and dbt's own output as a run goes."""
    return os.environ.get("VERBOSE", "").strip() not in ("", "0")


#: Airflow's timeouts (whole numbers; empty: the default). The task default covers the longest step, a
#: night's dbt build that may first wait up to an hour for the marts (``locks.MARTS_WAIT_S``); the run
#: default ends a night's run that started at 02:00 before the working day.
TASK_TIMEOUT_SETTING, DEFAULT_TASK_TIMEOUT_MINUTES = "WAREHOUSE_TASK_TIMEOUT_MINUTES", 180
RUN_TIMEOUT_SETTING, DEFAULT_RUN_TIMEOUT_HOURS = "WAREHOUSE_RUN_TIMEOUT_HOURS", 8


def _whole_number(name: str, default: int, *, unit: str = "", most: int | None = None, why: str = "") -> int:
    """A setting that is a whole number from 1 (to ``most``); empty: ``default``. Digits only, in ASCII
    (``int`` would take "²" no further than a ValueError)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= (most or int(raw)):
        of = f" of {unit}" if unit else ""
        bound = f" from 1 to {most}" if most else " of at least 1"
        raise SettingsError(f"{name}={raw!r} must be a whole number{of}{bound}{why}.")
    return int(raw)


#: dbt's threads, the models and tests it runs at once (``WAREHOUSE_DBT_THREADS``; empty: the CPUs this
#: process may use, at most ``DBT_THREADS_DEFAULT_MOST``). More threads than the server has cores only queue
#: queries behind each other; set it to the warehouse server's cores when that is another machine.
DBT_THREADS_SETTING = "WAREHOUSE_DBT_THREADS"
#: The default's ceiling: each thread is a connection (PostgreSQL allows 100 by default, shared with GX,
#: Airflow and BI), and a large host's CPU count says nothing of a container's share of it.
DBT_THREADS_DEFAULT_MOST = 8


def machine_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform has one, else all of them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def dbt_threads() -> int:
    """dbt's ``threads`` (the profile reads it): ``WAREHOUSE_DBT_THREADS``, else :func:`machine_cpus` (at
    most ``DBT_THREADS_DEFAULT_MOST``)."""
    return _cpu_count_setting(DBT_THREADS_SETTING, DBT_THREADS_DEFAULT_MOST)


def _cpu_count_setting(name: str, default_most: int) -> int:
    """A count of connections working at once: the setting ``name``, else the CPUs (at most ``default_most``)."""
    default = min(machine_cpus(), default_most)
    return _whole_number(
        name, default, most=64, why=f" (default {default}: this machine's CPUs, at most {default_most})"
    )


#: The case-system tables a SQL source loads at once, each its own batch on its own connection
#: (``WAREHOUSE_LOAD_THREADS``; empty: the CPUs, at most ``LOAD_THREADS_DEFAULT_MOST``). A batch's checks
#: and append are one server backend's work: a second one uses a second core. Each batch may take
#: 256 MB of work_mem and 1 GB of temp buffers on the server (``copy_loader``), and each reads its table
#: from the source at once: hence a lower ceiling than dbt's.
LOAD_THREADS_SETTING = "WAREHOUSE_LOAD_THREADS"
LOAD_THREADS_DEFAULT_MOST = 4


def load_threads() -> int:
    """How many tables of a SQL source load side by side: ``WAREHOUSE_LOAD_THREADS``, else
    :func:`machine_cpus` (at most ``LOAD_THREADS_DEFAULT_MOST``)."""
    return _cpu_count_setting(LOAD_THREADS_SETTING, LOAD_THREADS_DEFAULT_MOST)


def airflow_timeouts() -> tuple[timedelta, timedelta]:
    """(a task's execution_timeout, a DAG run's dagrun_timeout): ``WAREHOUSE_TASK_TIMEOUT_MINUTES`` and
    ``WAREHOUSE_RUN_TIMEOUT_HOURS``."""
    task = timedelta(
        minutes=_whole_number(
            TASK_TIMEOUT_SETTING,
            DEFAULT_TASK_TIMEOUT_MINUTES,
            unit="minutes",
            most=7 * 24 * 60,
            why=f" (default {DEFAULT_TASK_TIMEOUT_MINUTES})",
        )
    )
    run = timedelta(
        hours=_whole_number(
            RUN_TIMEOUT_SETTING,
            DEFAULT_RUN_TIMEOUT_HOURS,
            unit="hours",
            most=7 * 24,
            why=f" (default {DEFAULT_RUN_TIMEOUT_HOURS})",
        )
    )
    return task, run


def dbt_target_path() -> str:
    """dbt's own ``DBT_TARGET_PATH`` (where it writes its artifacts; relative to the dbt project), or
    ``target``. The test suite gives each session its own."""
    return os.environ.get("DBT_TARGET_PATH", "").strip() or "target"
