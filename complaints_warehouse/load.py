"""Extract and load: each source into its raw schema, one batch per table or file.

Case-system sources are configured systems (``ingestion/sources/*.yml``) pulled through an adapter.
Reference and Ombudsman data are folders of files: the Ombudsman's published files (CSV or XLSX, with
headers and labels that vary by year) and the ONS national population file are first normalised into
the canonical layout, in a scratch folder; the ledger still names the file as delivered.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa

from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import roles
from complaints_warehouse.warehouse.database import Connection, WarehouseUnavailable, connect
from complaints_warehouse.warehouse.locks import source_lock
from ingestion import ledger
from ingestion.adapters import file_adapter, sql_adapter
from ingestion.case_system import contract as case_system
from ingestion.contract import TableContract
from ingestion.copy_loader import (
    BatchResult,
    ConnectionLost,
    Progress,
    RefusedFile,
    load_extract,
    load_file,
    record_refusal,
)
from ingestion.ombudsman import contract as ombudsman
from ingestion.ombudsman.normalise import normalise_file
from ingestion.raw_tables import ensure_all, ensure_raw_table
from ingestion.reference import contract as reference
from ingestion.reference import population
from ingestion.source_config import SourceConfig, load_source_config
from ingestion.workbooks import xlsx_to_csv

# Reference data comes before the Ombudsman's: its contracts match authorities against it.
SOURCES: dict[str, tuple[TableContract, ...]] = {
    case_system.SOURCE: case_system.TABLES,
    reference.SOURCE: reference.TABLES,
    ombudsman.SOURCE: ombudsman.TABLES,
}
#: Tables a source's contract rules read: they must exist (even empty) before it loads.
LOOKUPS: dict[str, tuple[TableContract, ...]] = {
    ombudsman.SOURCE: (reference.AUTHORITIES, reference.AUTHORITY_NAMES)
}
PUBLISHED_SUFFIXES = (".csv", ".xlsx")
log = logging.getLogger(__name__)
#: A batch whose warehouse connection drops is loaded again on a new one, this many times at most,
#: after RETRY_BACKOFF_S, then twice that, ... (a restarting server, a network blip, a killed backend).
LOAD_RETRIES = 3
RETRY_BACKOFF_S = 1.0


class LoaderSession:
    """The loader's autocommit connection to the warehouse, reopened when it drops.

    Only a lost connection is retried (``ConnectionLost``): nothing of the batch committed, so loading
    the same extract again on a new connection converges. Bad data, a refused file or any other error
    is raised at once. The batch left behind is marked failed, naming the retry."""

    def __init__(self, target: Connection):
        self.target = target
        self.conn = connect(target, autocommit=True, purpose="loader")

    def close(self) -> None:
        self.conn.close()

    def load(self, what: str, attempt: Callable[[psycopg.Connection], BatchResult]) -> BatchResult:
        """``attempt(conn)`` loads one batch; again on a new connection if the connection drops."""
        for number in range(1, LOAD_RETRIES + 2):
            try:
                return attempt(self.conn)
            except ConnectionLost as lost:
                if number > LOAD_RETRIES:
                    raise WarehouseUnavailable(
                        f"Loading {what}: {lost} on each of {number} attempts; nothing of it was kept. "
                        "Check the warehouse server, then run again."
                    ) from lost
                delay_s = RETRY_BACKOFF_S * 2 ** (number - 1)
                log.warning(
                    "Loading %s: %s; loading it again in %.0f s on a new connection", what, lost, delay_s
                )
                self._reconnect(delay_s)
                if lost.batch_id is not None:
                    ledger.mark_retried(
                        self.conn,
                        lost.batch_id,
                        f"{lost}; nothing of it was kept; retried on a new connection "
                        f"(attempt {number + 1} of at most {LOAD_RETRIES + 1})",
                    )
        raise AssertionError("unreachable")

    def _reconnect(self, delay_s: float) -> None:
        self.conn.close()
        for _ in range(LOAD_RETRIES):  # the server may still be restarting: back off and try again
            time.sleep(delay_s)
            try:
                self.conn = connect(self.target, autocommit=True, purpose="loader")
                return
            except WarehouseUnavailable:
                delay_s *= 2
        self.conn = connect(self.target, autocommit=True, purpose="loader")


@contextmanager
def loader_session(target: Connection) -> Iterator[LoaderSession]:
    session = LoaderSession(target)
    try:
        yield session
    finally:
        session.close()


@dataclass(frozen=True)
class ExtractFile:
    """One delivered file and how it becomes the table's canonical CSV."""

    table: TableContract
    path: Path
    kind: str = "canonical"  # canonical | published (Ombudsman layout) | ons_population
    mid_year: int | None = None


def find_files(folder: Path, tables: tuple[TableContract, ...], *, published: bool) -> list[ExtractFile]:
    """The folder's files, in contract order (parents before children): ``<table>.csv`` (or ``.xlsx``
    when ``published``), and for population any ONS ``mid_year_estimates_<year>.csv``."""
    if not folder.is_dir():
        raise RefusedFile(folder, "the extract folder does not exist")
    suffixes = PUBLISHED_SUFFIXES if published else (".csv",)
    kind = "published" if published else "canonical"
    found = [
        ExtractFile(table, folder / f"{table.name}{suffix}", kind)
        for table in tables
        for suffix in suffixes
        if (folder / f"{table.name}{suffix}").exists()
    ]
    if reference.POPULATION in tables:
        found += [
            ExtractFile(reference.POPULATION, path, "ons_population", population.mid_year_of(path))
            for path in sorted(folder.glob("mid_year_estimates_*.csv"))
            if population.mid_year_of(path)
        ]
    if not found:
        expected = ", ".join(f"{t.name}{'.csv/.xlsx' if published else '.csv'}" for t in tables)
        raise RefusedFile(folder, f"no extract files found (expected {expected})")
    return found


def _canonical(file: ExtractFile, scratch: Path) -> Path:
    """The file in the table's canonical CSV layout (itself, when it already is)."""
    out_dir = scratch / f"{file.table.name}-{file.path.name}"
    if file.kind == "published":
        return normalise_file(file.path, file.table, out_dir)
    if file.kind == "ons_population":
        return population.normalise_mid_year_estimates(file.path, file.mid_year, out_dir)
    return file.path


def _files(folder: Path, source: str) -> Iterator[ExtractFile]:
    yield from find_files(folder, SOURCES[source], published=source == ombudsman.SOURCE)


def load_source(
    target: Connection,
    source: str,
    folder: Path,
    *,
    progress: Progress | None = None,
    reload: bool = False,
    pseudonym_key: str | None = None,
) -> list[BatchResult]:
    """Load every file of ``source`` found in ``folder``; stop at the first refused file."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known sources: {', '.join(SOURCES)}")
    results = []
    with (
        source_lock(target, f"folder:{source}"),
        loader_session(roles.as_role(target, roles.LOADER)) as session,
        tempfile.TemporaryDirectory(prefix="cw-load-") as scratch,
    ):
        # Every table the source's models and rules read exists, even when this delivery lacks its file.
        for table in (*LOOKUPS.get(source, ()), *SOURCES[source]):
            ensure_raw_table(session.conn, table)
        for file in _files(folder, source):
            try:
                canonical = _canonical(file, Path(scratch))
            except RefusedFile as exc:
                record_refusal(session.conn, file.table, str(file.path), exc.problem)
                raise
            results.append(
                session.load(
                    str(file.path),
                    lambda conn, file=file, canonical=canonical: load_file(
                        conn,
                        file.table,
                        canonical,
                        progress=progress,
                        reload=reload,
                        source_file=file.path,
                        pseudonym_key=pseudonym_key,
                    ),
                )
            )
    return results


def load_source_system(
    settings: Settings,
    target: Connection,
    config: SourceConfig,
    *,
    window: tuple[datetime, datetime] | None = None,
    reload: bool = False,
    progress: Progress | None = None,
) -> list[BatchResult]:
    """Load one configured source system: every table, one batch each (files: one batch per file).

    SQL sources are incremental: rows updated after the table's high-water mark less the overlap, up to
    now. ``window`` (a backfill) loads exactly (start, end] instead and leaves the high-water mark alone.
    """
    config = resolve_source_url(config, target)
    needs_key = any(c.pseudonymise for t in config.tables for c in t.contract.columns)
    key = settings.pseudonym_key() if needs_key else None
    with (
        source_lock(target, f"source:{config.source_system}"),
        loader_session(roles.as_role(target, roles.LOADER)) as session,
    ):
        session.conn.execute(
            "insert into audit.source_systems (source_system, contract, adapter, replaces, config_path) "
            "values (%s, %s, %s, %s, %s) on conflict (source_system) do update set contract = excluded.contract, "
            "adapter = excluded.adapter, replaces = excluded.replaces, config_path = excluded.config_path, "
            "registered_at = clock_timestamp()",
            (config.source_system, config.contract, config.adapter, config.replaces, str(config.path)),
        )
        if config.adapter == "files":
            return _load_landing_folder(session, config, key, reload, progress)
        return _load_sql_source(session, config, key, window, progress)


def resolve_source_url(config: SourceConfig, target: Connection) -> SourceConfig:
    """``warehouse-server:<database>``: a database on the warehouse's own server (the demo's simulator),
    reached with the owner's login (the loader role has no rights in another database)."""
    if config.url and config.url.startswith("warehouse-server:"):
        database = config.url.split(":", 1)[1]
        return dataclasses.replace(config, url=target.other_database(database).sqlalchemy_url("psycopg"))
    return config


def load_source_configs(settings: Settings) -> list[SourceConfig]:
    return [load_source_config(path) for path in settings.source_configs]


def _load_landing_folder(
    session: LoaderSession, config: SourceConfig, key, reload, progress
) -> list[BatchResult]:
    results = []
    for mapping, path in file_adapter.pending_files(config):
        try:
            result = session.load(
                str(path),
                lambda conn, mapping=mapping, path=path: _load_landed_file(
                    conn, config, mapping, path, key, reload, progress
                ),
            )
        except RefusedFile as exc:
            file_adapter.archive(config, path, refused_because=str(exc))
            raise
        file_adapter.archive(config, path)
        results.append(result)
    return results


def _load_landed_file(conn, config: SourceConfig, mapping, path: Path, key, reload, progress) -> BatchResult:
    """One landed export; an XLSX workbook is read as CSV first, the ledger naming the workbook."""
    with tempfile.TemporaryDirectory(prefix="cw-landing-") as scratch:
        readable = path
        if path.suffix.lower() == ".xlsx":
            try:
                readable = xlsx_to_csv(
                    path,
                    Path(scratch) / f"{path.stem}.csv",
                    mapping.sheet,
                    contract=mapping.contract,
                    renames=file_adapter.renames(mapping),
                    formats=mapping.formats,
                )
            except RefusedFile as exc:
                record_refusal(conn, mapping.contract, str(path), exc.problem, config.source_system)
                raise
        return load_file(
            conn,
            mapping.contract,
            readable,
            source_file=path if readable != path else None,
            renames=file_adapter.renames(mapping),
            code_maps=mapping.codes,
            unknown_columns=config.unknown_columns,
            formats=mapping.formats,
            source_system=config.source_system,
            pseudonym_key=key,
            progress=progress,
            reload=reload,
        )


def _load_sql_source(
    session: LoaderSession, config: SourceConfig, key, window, progress
) -> list[BatchResult]:
    """Every table of a SQL source, one batch each, ``load_threads()`` tables at once.

    Each batch reads and writes only its own table's raw, current-version and ledger rows, so batches
    of different tables are independent: each commits or rolls back alone, and each moves only its own
    high-water mark. A batch's checks and append run in one server backend; loading tables side by side
    puts the server's other cores to work. The tables are created first, one at a time (DDL)."""
    from complaints_warehouse.settings import load_threads

    ensure_all(session.conn, [mapping.contract for mapping in config.tables])
    engine = sql_adapter.engine_for(config)
    report = _shared_progress(progress)
    jobs = [
        lambda conn_session, mapping=mapping: _load_sql_table(
            conn_session, engine, config, mapping, key, window, report(mapping.contract.name)
        )
        for mapping in config.tables
    ]
    try:
        return side_by_side(session, jobs, load_threads())
    finally:
        engine.dispose()


def _load_sql_table(session: LoaderSession, engine, config: SourceConfig, mapping, key, window, progress):
    table = mapping.contract
    if window:
        since, until = window
    else:
        mark = ledger.high_water_mark(session.conn, config.source_system, table.name)
        since = mark - timedelta(hours=config.overlap_hours) if mark else None
        until = datetime.now(UTC)
    extract = _source_extract(session.conn, engine, config, mapping, since, until, window is None)
    # The high-water mark moves in the batch's own transaction (``ingestion.ledger``): a batch that did
    # not commit leaves it where it was, and the next load reads that window again. A backfill (a
    # window) leaves it alone.
    return session.load(
        f"{config.source_system} {table.name}",
        lambda conn: load_extract(
            conn,
            table,
            extract,
            source_system=config.source_system,
            pseudonym_key=key,
            progress=progress,
            advance_watermark=not window,
        ),
    )


def side_by_side(
    session: LoaderSession, jobs: list[Callable[[LoaderSession], BatchResult]], threads: int
) -> list[BatchResult]:
    """Run ``jobs`` (each loads one batch on the session it is given), ``threads`` at once, each on a
    session of its own (``session`` and new ones to the same warehouse); return their results in the
    jobs' order.

    As one after another: after a job fails no further job starts, and the first failure (in the jobs'
    order) is raised once the jobs already running have ended (their batches are whole either way).
    Interrupted (Ctrl-C, a task's timeout), the running batches' statements are cancelled: each rolls
    back, as a batch whose loader dies does."""
    threads = max(1, min(threads, len(jobs)))
    if threads == 1:
        return [job(session) for job in jobs]
    free: queue.SimpleQueue[LoaderSession] = queue.SimpleQueue()
    sessions = [session]
    free.put(session)
    stop = threading.Event()

    def run(job: Callable[[LoaderSession], BatchResult]) -> BatchResult | None:
        if stop.is_set():
            return None
        own = None
        try:
            try:
                own = free.get_nowait()
            except queue.Empty:
                own = LoaderSession(session.target)
                sessions.append(own)
            return job(own)
        except BaseException:
            stop.set()
            raise
        finally:
            if own is not None:
                free.put(own)

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="loader")
    futures = [pool.submit(run, job) for job in jobs]
    try:
        wait(futures)
    except BaseException:
        stop.set()
        for own in sessions:  # a statement running now is cancelled; a batch between statements ends
            try:
                own.conn.cancel_safe(timeout=5)
            except Exception:  # an unreachable server: its batches roll back with their connections
                log.warning("Could not cancel a running batch's statement", exc_info=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for own in sessions[1:]:
            own.close()
    failures = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
    for later in failures[1:]:  # raised: the first in the jobs' order; the others are logged
        log.error("Loading side by side, another table failed too: %s", later)
    if failures:
        raise failures[0]
    return [r for r in (f.result() for f in futures) if r is not None]


def _shared_progress(progress: Progress | None) -> Callable[[str], Progress | None]:
    """Per-table progress callbacks that report the tables' bytes so far added up (tables load side
    by side; a SQL source's rows have no total)."""
    if progress is None:
        return lambda table: None
    done: dict[str, int] = {}
    lock = threading.Lock()

    def for_table(table: str) -> Progress:
        def report(so_far: int, total: int) -> None:
            with lock:
                done[table] = so_far
                progress(sum(done.values()), 0)

        return report

    return for_table


def _source_extract(conn, engine, config: SourceConfig, mapping, since, until, detect_deletions: bool):
    """The table's extract; a table that is not the contract is refused in the ledger like a file, and a
    source that cannot be reached says which (without its password)."""
    try:
        return sql_adapter.table_extract(
            engine,
            config,
            mapping,
            since,
            until,
            detect_deletions=detect_deletions,
            read_future=detect_deletions,  # an incremental load (a backfill reads its window exactly)
        )
    except RefusedFile as exc:
        record_refusal(conn, mapping.contract, str(exc.path), exc.problem, config.source_system)
        raise
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise WarehouseUnavailable(
            f"Cannot reach source system {config.source_system} ({engine.url.render_as_string(hide_password=True)}, "
            f"configured in {config.path}): {reason}. Check its url and that the server accepts connections."
        ) from None
