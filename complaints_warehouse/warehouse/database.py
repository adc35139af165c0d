"""Database access: which PostgreSQL the warehouse is, how to reach it, and the schemas it owns."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import quote

import psycopg
from psycopg import conninfo, sql

from complaints_warehouse.errors import Unavailable
from complaints_warehouse.settings import RoleLogins, Settings, SettingsError
from complaints_warehouse.warehouse import embedded_db

#: Schemas the project creates, in the order the data flows through them.
SCHEMAS = {
    "raw_case_system": "Append-only loads from the council's case system, one batch id per load.",
    "raw_ombudsman": "Append-only loads of the Ombudsman's (LGSCO) open data and case spreadsheets.",
    "raw_reference": "Append-only loads of reference data: authorities, their name variants, population.",
    "staging": "dbt staging models: one per raw table, renamed and typed.",
    "intermediate": "dbt intermediate models: working days, stage sequences, case rollups.",
    "marts": "dbt marts: the star schema and reporting models that BI tools read.",
    # Its own schema so frozen figures never share a home with tables dbt rebuilds every night.
    "published": "Signed-off BMMR figures, frozen per month and version, and their restatements.",
    "audit": "Batch ledger, quarantine and validation results: what happened to every load.",
    "restricted": "Personal data of complainants, keyed by pseudonym. Never granted to BI logins.",
}

MINIMUM_SERVER_VERSION = 140000


class WarehouseUnavailable(Unavailable, RuntimeError):
    """The warehouse cannot be reached or is not usable; the message says what to do."""


@dataclass(frozen=True)
class Connection:
    """How to reach the warehouse database, in the shapes each tool wants."""

    host: str
    port: int
    user: str
    password: str | None
    dbname: str
    embedded: bool
    #: A role to switch to as the session opens (SET ROLE), e.g. the loader's; see ``roles.as_role``.
    role: str | None = None
    #: The warehouse's roles as the settings name them (prefix, passwords): ``resolve`` gives them from the
    #: settings, and every copy of the target (``dataclasses.replace``) keeps them.
    logins: RoleLogins = field(default=RoleLogins(), repr=False, compare=False)

    @classmethod
    def from_url(cls, url: str, *, embedded: bool = False) -> Connection:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        if scheme not in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
            raise SettingsError(
                "WAREHOUSE_URL must be a PostgreSQL URL such as "
                "postgresql://user:password@host:5432/database "
                f"(got one starting {scheme + '://' if scheme else repr(url[:12])})."
            )
        if "+" in scheme:
            url = "postgresql://" + url.split("://", 1)[1]
        try:
            parts = conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise SettingsError(f"WAREHOUSE_URL is not a valid PostgreSQL URL: {exc}") from None
        if not str(parts.get("port") or "5432").isdigit():
            raise SettingsError(
                f"WAREHOUSE_URL is not a valid PostgreSQL URL: its port {parts['port']!r} is not a number."
            )
        if not parts.get("dbname"):
            raise SettingsError(
                "WAREHOUSE_URL names no database: add one, as in postgresql://host/warehouse."
            )
        return cls(
            host=str(parts.get("host") or "localhost"),
            port=int(parts.get("port") or 5432),
            user=str(parts.get("user") or "postgres"),
            password=str(parts["password"]) if parts.get("password") else None,
            dbname=str(parts["dbname"]),
            embedded=embedded,
        )

    def other_database(self, dbname: str) -> Connection:
        """Another database on the same server, reached with this target's own login and no role switch
        (a role of the warehouse has no rights there: the demo's simulator, a benchmark's scratch copy).
        The role logins are kept, as with every copy."""
        return replace(self, dbname=dbname, role=None)

    @property
    def conninfo(self) -> str:
        # libpq's options run "SET ROLE" as the session starts: every statement runs with the role's rights.
        options = {"options": f"-c role={self.role}"} if self.role else {}
        return conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            **options,
        )

    def sqlalchemy_url(self, driver: str = "psycopg") -> str:
        """A SQLAlchemy URL; a socket directory goes in the query string, as libpq expects."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if self.host.startswith("/"):
            return f"postgresql+{driver}://{auth}@/{self.dbname}?host={quote(self.host)}&port={self.port}"
        return f"postgresql+{driver}://{auth}@{self.host}:{self.port}/{self.dbname}"

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by ``dbt_project/profiles.yml``."""
        return {
            "WAREHOUSE_HOST": self.host,
            "WAREHOUSE_PORT": str(self.port),
            "WAREHOUSE_USER": self.user,
            "WAREHOUSE_PASSWORD": self.password or "",
            "WAREHOUSE_DBNAME": self.dbname,
            "WAREHOUSE_ROLE": self.role or "",
        }

    @property
    def display(self) -> str:
        """Where the warehouse is, without the password."""
        where = f"socket {self.host}" if self.host.startswith("/") else f"{self.host}:{self.port}"
        kind = "embedded PostgreSQL" if self.embedded else "PostgreSQL"
        role = f" as {self.role}" if self.role else ""
        return f"{kind} at {where}, database {self.dbname}, user {self.user}{role}"


def resolve(settings: Settings) -> Connection:
    """Find the warehouse: ``WAREHOUSE_URL`` if set, else the embedded server (started on demand); the
    target carries the settings' role logins (``roles.as_role``)."""
    return replace(_resolve(settings), logins=settings.roles)


def _resolve(settings: Settings) -> Connection:
    if settings.warehouse_url:
        return Connection.from_url(settings.warehouse_url)
    if not settings.embedded_enabled:
        raise SettingsError(
            "WAREHOUSE_URL is not set and the embedded PostgreSQL is switched off (WAREHOUSE_EMBEDDED=0). "
            "Set WAREHOUSE_URL=postgresql://user:password@host:5432/database, or unset WAREHOUSE_EMBEDDED."
        )
    try:
        server = Connection.from_url(embedded_db.start(settings.embedded_dir), embedded=True)
    except Exception as exc:  # the wheel raises bare subprocess errors; say what failed and where
        raise WarehouseUnavailable(
            f"Could not start the embedded PostgreSQL in {settings.embedded_dir}: {exc}. "
            f"Its log is {settings.embedded_dir / 'pgdata' / 'log'}."
        ) from exc
    try:
        _create_database_if_missing(server, settings.database_name)
    except psycopg.OperationalError as exc:
        raise WarehouseUnavailable(
            f"The embedded PostgreSQL in {settings.embedded_dir} is not answering: {str(exc).strip()}. "
            "`complaints-warehouse db stop` and try again; its log is "
            f"{settings.embedded_dir / 'pgdata' / 'log'}."
        ) from exc
    return Connection(server.host, server.port, server.user, None, settings.database_name, embedded=True)


def _create_database_if_missing(server: Connection, name: str) -> None:
    with psycopg.connect(server.conninfo, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def connect(target: Connection, *, purpose: str | None = None, **kwargs) -> psycopg.Connection:
    """Open a connection, turning connection failures into a message a person can act on.

    ``purpose`` names the session in ``pg_stat_activity`` (``complaints-warehouse loader``...)."""
    name = f"complaints-warehouse {purpose}" if purpose else "complaints-warehouse"
    try:
        conn = psycopg.connect(target.conninfo, connect_timeout=10, application_name=name, **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        hint = (
            "Check WAREHOUSE_URL (host, port, database, user, password) and that the server accepts connections."
            if not target.embedded
            else "Try `complaints-warehouse db stop` and run again."
        )
        raise WarehouseUnavailable(
            f"Cannot connect to the warehouse ({target.display}): {reason}. {hint}"
        ) from None
    version = conn.info.server_version
    if version < MINIMUM_SERVER_VERSION:
        conn.close()
        raise WarehouseUnavailable(
            f"The warehouse runs PostgreSQL {version // 10000}; the project needs PostgreSQL 14 or newer."
        )
    return conn


def analyze_unanalyzed(target: Connection) -> list[str]:
    """ANALYZE every table of the warehouse's schemas that has no planner statistics yet (never analyzed,
    by hand or by autovacuum), and return their names. The loads and dbt's table models analyze what they
    write; this catches the rest (the snapshot, the seeds, the publication and audit tables) before a
    query plans on a guess: autovacuum reaches a new table only a minute or so later, and an unanalyzed
    table can turn a half-second query into minutes."""
    with connect(target, autocommit=True) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "select format('%%I.%%I', schemaname, relname) from pg_stat_user_tables "
                "where schemaname = any(%s) and last_analyze is null and last_autoanalyze is null "
                "order by 1",
                (sorted(SCHEMAS),),
            ).fetchall()
        ]
        for name in names:
            conn.execute(f"analyze {name}")  # noqa: S608 (names quoted by format('%I'))
    return names
