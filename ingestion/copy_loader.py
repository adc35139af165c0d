"""Load one extract (a file, or rows streamed from a source database) into its raw table.

The extract streams into a temporary landing table of text columns with COPY, so memory stays flat.
One set-based pass then lists every way each row breaks its contract; rows with no reasons are appended
to the raw table (unless the same version is already there), the rest go to quarantine whole, with their
reasons. Everything commits together with the batch's ledger row, or nothing does.

Every batch reconciles: rows in = rows loaded + rows quarantined, where rows loaded counts the rows
accepted, including those already present (``rows_unchanged``: an overlap window re-reads them).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from complaints_warehouse import fault_points
from complaints_warehouse.errors import InputRefused, TransientError
from complaints_warehouse.warehouse.locks import BATCH_ALIVE
from ingestion import ledger, row_checks
from ingestion.contract import TableContract
from ingestion.raw_tables import (
    create_raw_indexes,
    current_table,
    drop_raw_indexes,
    ensure_raw_table,
    raw_table,
)
from ingestion.value_formats import DEFAULT as DEFAULT_FORMATS
from ingestion.value_formats import ValueFormats

#: Called with (bytes streamed, bytes in all, or so far) as a COPY starts (0) and after each chunk.
Progress = Callable[[int, int], None]
CHUNK_BYTES = 1 << 20


class ConnectionLost(TransientError, RuntimeError):
    """The warehouse connection broke during a batch: nothing of the batch was committed, so loading the
    extract again on a new connection is safe. ``batch_id`` is the ledger row left 'running', if any."""

    def __init__(self, batch_id: int | None, error: Exception):
        reason = (str(error).strip().splitlines() or [""])[0]
        super().__init__(f"lost the warehouse connection ({type(error).__name__}: {reason})")
        self.batch_id = batch_id
        self.error = error


def connection_lost(conn: psycopg.Connection, error: Exception) -> bool:
    """Whether ``error`` is the connection going away (server restart, terminated backend, network),
    not a problem with the data: only then is a retry any use."""
    return isinstance(error, psycopg.OperationalError) and (conn.closed or conn.broken)


class RefusedFile(InputRefused, ValueError):
    """An extract that is not the contract at all; refused whole, nothing from it is loaded."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"Refused {path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class Extract:
    """One delivery of one table: CSV bytes, header row first.

    ``present_keys``, when given, streams a CSV (with header) of every key the source holds now, so
    that keys the warehouse has but the source no longer does are recorded as deleted.
    """

    name: str
    header: list[str]
    chunks: Callable[[], Iterator[bytes]]
    size: int | None = None
    checksum: str | None = None
    path: Path | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    present_keys: Callable[[], Iterator[bytes]] | None = None
    code_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    #: What becomes of columns the contract does not know (``UNKNOWN_COLUMNS``); None: the contract's
    #: default (``unknown_columns_policy``).
    unknown_columns: str | None = None
    #: How the extract writes its dates and timestamps (its source's declaration; ISO 8601 by default).
    formats: ValueFormats = DEFAULT_FORMATS


@dataclass
class BatchResult:
    """What happened to one extract: the ledger row, as the caller sees it."""

    source: str
    table: str
    file: str
    status: str
    source_system: str = ""
    batch_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    rows_deleted: int = 0
    content_checksum: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


#: What the loader does with a column the contract does not know:
#: ``keep`` -- in the raw row's ``_extra`` (and in a quarantined row): for sources holding no personal data;
#: ``drop`` -- not loaded at all, the ledger naming the columns dropped: the default for a source whose
#:   contract holds personal data, as nobody can tell what an unknown column holds;
#: ``restricted`` -- kept apart in ``restricted.unknown_columns`` (a personal table's ``_extra``, already
#:   in ``restricted``), purged with the complainant by retention.
UNKNOWN_COLUMNS = ("drop", "restricted", "keep")


def source_holds_personal_data(source: str) -> bool:
    """Whether any table of ``source``'s contract is personal or carries a personal identifier."""
    from ingestion.case_system import contract as case_system
    from ingestion.ombudsman import contract as ombudsman
    from ingestion.reference import contract as reference

    tables = {module.SOURCE: module.TABLES for module in (case_system, ombudsman, reference)}
    return any(t.personal or any(c.pseudonymise for c in t.columns) for t in tables.get(source, ()))


def unknown_columns_policy(contract: TableContract, configured: str | None = None) -> str:
    """``configured``, else ``drop`` for a source whose contract holds personal data, else ``keep``."""
    if configured:
        return configured
    return "drop" if contract.personal or source_holds_personal_data(contract.source) else "keep"


def normalise_header(name: str) -> str:
    """``Received Date`` and ``received-date`` both mean ``received_date``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_header(name: Path | str, header: list[str], contract: TableContract) -> list[str]:
    """Normalised column names; refuse a header that cannot be this contract's."""
    header = [normalise_header(h) for h in header]
    if any(h == "" for h in header):
        raise RefusedFile(name, "the header row has an empty column name")
    if any(h.startswith("_") for h in header):
        raise RefusedFile(name, "column names may not start with an underscore (reserved for the warehouse)")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise RefusedFile(name, f"the header names these columns more than once: {', '.join(duplicates)}")
    missing = [c for c in contract.required_columns if c not in header]
    if missing:
        raise RefusedFile(
            name,
            f"missing required column(s) {', '.join(missing)} for {contract.qualified_name} "
            f"(found: {', '.join(header) or 'none'})",
        )
    return header


def read_header(path: Path, contract: TableContract, renames: dict[str, str] | None = None) -> list[str]:
    """The file's column names, normalised; refuse a file that cannot be this contract's CSV."""
    if not path.is_file():
        raise RefusedFile(path, "the file does not exist")
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise RefusedFile(path, "the file is empty (expected a CSV header row)")
    packed = packed_file_problem(head)
    if packed:
        raise RefusedFile(path, packed)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16's byte-order marks (UTF-32 LE starts so too)
        raise RefusedFile(path, "the file is UTF-16 text, not UTF-8: save it as CSV UTF-8")
    if b"\x00" in head or head.startswith(b"PK\x03\x04"):
        raise RefusedFile(path, "the file is binary, not CSV text (an XLSX or other binary file?)")
    line_end = re.search(rb"\r\n?|\n", head)
    if line_end and line_end.group() == b"\r" and line_end.end() < len(head):
        # COPY reads only LF or CRLF as a row's end: the whole file would be one row.
        raise RefusedFile(
            path,
            "the file's lines end in CR only (old Mac line endings): "
            "save it with Windows (CRLF) or Unix (LF) line endings",
        )
    try:
        text = head.split(b"\n", 1)[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RefusedFile(path, "the header row is not UTF-8 text") from None
    try:
        cells = next(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise RefusedFile(path, f"the header row is not well-formed CSV ({exc})") from None
    for separator, called in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if len(cells) == 1 and separator in text:  # read as one column: a European or tab export
            raise RefusedFile(
                path,
                f"the header is separated by {called}, not commas: export the file as comma-separated CSV",
            )
    names = [normalise_header(h) for h in cells]
    return check_header(path, [(renames or {}).get(n, n) for n in names], contract)


GZIP_MAGIC, OLE2_MAGIC = b"\x1f\x8b", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def packed_file_problem(head: bytes) -> str | None:
    """What a compressed or old-format Office file is, from its first bytes: such a file is refused
    with a message saying what to do, rather than read as text."""
    if head.startswith(GZIP_MAGIC):
        return "the file is gzip-compressed, not CSV text: decompress it first"
    if head.startswith(OLE2_MAGIC):  # Office's compound file: an encrypted workbook, or Excel 97-2003
        if "EncryptedPackage".encode("utf-16-le") in head:
            return "the workbook is password-protected (encrypted): save it without a password"
        return (
            "the file is an Excel 97-2003 (.xls) or password-protected workbook: "
            "save it as XLSX without a password, or as CSV"
        )
    return None


def file_extract(path: Path, contract: TableContract, renames: dict[str, str] | None = None) -> Extract:
    """An extract read from a CSV file, checksummed so the same content is never loaded twice.

    ``renames`` maps the file's (normalised) column names to the contract's.
    """
    path = Path(path)
    header = read_header(path, contract, renames)

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            yield from _without_trailing_blank_lines(iter(lambda: handle.read(CHUNK_BYTES), b""))

    return Extract(
        str(path), header, chunks, size=path.stat().st_size, checksum=file_checksum(path), path=path
    )


def _without_trailing_blank_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The file's bytes less any blank lines after its last row (spreadsheets save them; they carry
    nothing, but COPY would read each as a row of one empty field and refuse the file)."""
    pending = b""  # line ends read so far with no row after them yet
    for chunk in chunks:
        body = chunk.rstrip(b"\r\n")
        if body:
            yield pending + body
            pending = chunk[len(body) :]
        else:
            pending += chunk
    if pending:
        yield pending[:2] if pending.startswith(b"\r\n") else pending[:1]


def load_file(
    conn: psycopg.Connection,
    contract: TableContract,
    path: Path,
    *,
    renames: dict[str, str] | None = None,
    code_maps: dict[str, dict[str, str]] | None = None,
    source_file: Path | None = None,
    unknown_columns: str | None = None,
    formats: ValueFormats | None = None,
    **kwargs,
) -> BatchResult:
    """Load a CSV file as one batch (see ``load_extract``); a file that is not the contract is refused.

    ``source_file`` names the file as delivered when ``path`` is a converted copy of it (for the ledger).
    """
    path = Path(path)
    try:
        extract = file_extract(path, contract, renames)
        extract.code_maps = code_maps or {}
        extract.unknown_columns = unknown_columns
        extract.formats = formats or DEFAULT_FORMATS
        if source_file is not None:
            extract.name = str(source_file)
    except RefusedFile as exc:
        record_refusal(
            conn, contract, str(source_file or path), exc.problem, kwargs.get("source_system") or "file"
        )
        raise
    return load_extract(conn, contract, extract, **kwargs)


def load_extract(
    conn: psycopg.Connection,
    contract: TableContract,
    extract: Extract,
    *,
    source_system: str = "file",
    pseudonym_key: str | None = None,
    progress: Progress | None = None,
    reload: bool = False,
    advance_watermark: bool = False,
) -> BatchResult:
    """Load one extract as one batch of ``contract``'s table, all or nothing.

    An extract whose checksum was loaded before is skipped (re-running a night changes nothing) unless
    ``reload``. ``conn`` must be in autocommit mode: the ledger row outlives a failed batch.
    ``advance_watermark``: move the source table's high-water mark inside the batch's transaction, with
    the rows it covers (``ledger.advance_watermark``). A dropped connection raises ``ConnectionLost`` (the caller may retry on a new one).
    """
    if not conn.autocommit:
        raise ValueError("load_extract needs an autocommit connection")
    if any(c.pseudonymise and c.name in extract.header for c in contract.columns) and not pseudonym_key:
        raise ValueError(f"{contract.qualified_name} has personal identifiers: a pseudonym key is required")
    result = BatchResult(contract.source, contract.name, extract.name, "running", source_system=source_system)
    try:
        result.batch_id = _open_batch(conn, contract, extract, source_system)
        _settle_batch(conn, contract, extract, result, pseudonym_key, progress, reload, advance_watermark)
        if result.status == "loaded" and (result.rows_loaded > result.rows_unchanged or result.rows_deleted):
            analyze_loaded(conn, contract)
        return result
    except Exception as exc:
        if connection_lost(conn, exc):  # its ledger row cannot be written now: the retry says what happened
            raise ConnectionLost(result.batch_id, exc) from exc
        raise
    finally:
        if result.batch_id is not None and not (conn.closed or conn.broken):
            # Settled, committed or not: the batch is no longer alive to recovery.
            conn.execute(
                "select pg_advisory_unlock(hashtextextended(%s || %s::bigint, 0))",
                (BATCH_ALIVE, result.batch_id),
            )


def analyze_loaded(conn: psycopg.Connection, contract: TableContract) -> None:
    """Analyze the raw and current-version tables a committed batch changed, before anything reads them:
    without statistics the first build after a large load plans its joins for empty tables (a nested
    loop over millions of rows). The session's own counts of the rows it changed are flushed first, so
    the statistics system does not count them again as changed since the analyze."""
    if conn.info.server_version >= 150000:  # PostgreSQL 14's statistics collector has no such call
        conn.execute("select pg_stat_force_next_flush()")
    conn.execute(sql.SQL("analyze {}, {}").format(raw_table(contract), current_table(contract)))


def _settle_batch(
    conn, contract, extract, result, pseudonym_key, progress, reload, advance_watermark
) -> BatchResult:
    """Skip, load, refuse or fail the open batch ``result``, and write its ledger row accordingly.

    Content loaded before is skipped unless the same delivery (the file of the same name, in any folder
    or format: ``annual_statistics.csv`` or ``.xlsx``) has since been loaded with other content: a file
    put back as it was (a republication withdrawn) is then the current delivery again, and loads."""
    earlier = (
        conn.execute(
            "select e.batch_id from audit.load_batches e where e.source = %(source)s "
            "and e.table_name = %(table)s and e.source_system = %(system)s and e.file_checksum = %(checksum)s "
            "and e.status = 'loaded' and not exists (select 1 from audit.load_batches l "
            "where l.source = e.source and l.table_name = e.table_name and l.source_system = e.source_system "
            "and l.status = 'loaded' and l.batch_id > e.batch_id and l.file_checksum <> e.file_checksum "
            r"and regexp_replace(l.source_file, '^.*[/\\]|\.[^.]*$', '', 'g') = %(delivery)s) "
            "order by e.batch_id desc limit 1",
            {
                "source": contract.source,
                "table": contract.name,
                "system": result.source_system,
                "checksum": extract.checksum,
                "delivery": _delivery_name(extract.name),
            },
        ).fetchone()
        if extract.checksum
        else None
    )
    if earlier and not reload:
        result.status, result.message = "skipped", f"same content as batch {earlier[0]}, already loaded"
        _finish(conn, result)
        return result
    try:
        with conn.transaction():
            # Landing and checking happen in temporary tables and sorts: give them memory, not disk.
            # (temp_buffers only takes effect before the session's first temporary table.)
            # Dates written as text (the current-version keys) in ISO whatever the server's DateStyle.
            conn.execute(
                "select set_config('work_mem', '256MB', true), set_config('temp_buffers', '1GB', true), "
                "set_config('DateStyle', 'ISO, YMD', true)"
            )
            if pseudonym_key:
                conn.execute("select set_config('warehouse.pseudonym_key', %s, true)", (pseudonym_key,))
            _load_batch(conn, contract, extract, result, progress)
            result.status = "loaded"
            if advance_watermark:
                ledger.advance_watermark(conn, result.source_system, contract, result.batch_id)
            _finish(conn, result)
    except RefusedFile as exc:
        result.status, result.message = "refused", exc.problem
        _finish(conn, result)
        raise
    except Exception as exc:
        if connection_lost(conn, exc):
            raise
        result.status, result.message = "failed", f"{type(exc).__name__}: {exc}"
        _finish(conn, result)
        raise
    return result


def _delivery_name(name: str) -> str:
    """Which delivery a file is, whatever its folder and format: its name less folder and suffix (as
    ``_settle_batch`` computes it in SQL from the ledger's ``source_file``)."""
    return re.sub(r"^.*[/\\]|\.[^.]*$", "", name)


def _open_batch(
    conn: psycopg.Connection, contract: TableContract, extract: Extract, source_system: str
) -> int:
    """The batch's ledger row, 'running'. The session locks the batch's liveness lock in the same
    statement, before anyone can see the row: a 'running' batch whose lock is free has lost its loader
    (see ``complaints_warehouse.warehouse.recovery``); ``_finish`` releases it."""
    return conn.execute(
        "insert into audit.load_batches (source, table_name, source_system, source_file, file_checksum, "
        "window_start, window_end) values (%s, %s, %s, %s, %s, %s, %s) "
        "returning batch_id, pg_advisory_lock(hashtextextended(%s || batch_id, 0))",
        (
            contract.source,
            contract.name,
            source_system,
            extract.name,
            extract.checksum,
            extract.window_start,
            extract.window_end,
            BATCH_ALIVE,
        ),
    ).fetchone()[0]


def record_refusal(
    conn: psycopg.Connection, contract: TableContract, name: str, problem: str, source_system: str = "file"
) -> None:
    """Put a delivery refused before its batch began (unreadable, not the contract) in the ledger."""
    conn.execute(
        "insert into audit.load_batches (source, table_name, source_system, source_file, status, message, "
        "finished_at) values (%s, %s, %s, %s, 'refused', %s, clock_timestamp())",
        (contract.source, contract.name, source_system, name, problem),
    )


def _copy_into_landing(conn: psycopg.Connection, extract: Extract, progress: Progress | None) -> None:
    columns = sql.SQL(", ").join(sql.Identifier(h) for h in extract.header)
    conn.execute(
        sql.SQL("create temp table landing (_row_number bigserial, {}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(h)) for h in extract.header)
        )
    )
    copy_sql = sql.SQL("copy landing ({}) from stdin with (format csv, header true, encoding 'UTF8')").format(
        columns
    )
    conn.execute("savepoint landing")
    # Every column lands as text, so any data error COPY raises is the file's bytes or layout (a ragged
    # or unterminated row, a stray carriage return, a NUL byte, bytes that are not UTF-8), wherever in
    # the file it is: the file is refused whole, never left to fail the same way every night.
    try:
        try:
            _stream(conn, copy_sql, extract.chunks(), extract.size, progress)
        except (psycopg.errors.CharacterNotInRepertoire, psycopg.errors.UntranslatableCharacter) as exc:
            if _is_nul(exc) or extract.path is None:
                raise
            _land_utf8_rows(conn, extract, columns)
    except psycopg.errors.DataError as exc:
        if _is_nul(exc):
            problem = (
                f"the file contains a NUL byte ({_line(exc)}): it is corrupt or not text; export it again"
            )
        elif extract.path is None and isinstance(
            exc, (psycopg.errors.CharacterNotInRepertoire, psycopg.errors.UntranslatableCharacter)
        ):
            problem = f"the extract is not UTF-8 text ({_where(exc)})"
        else:
            problem = f"the file is not well-formed CSV for its header ({_where(exc)})"
        raise RefusedFile(extract.name, problem) from None
    except csv.Error as exc:  # read again in Python (see _land_utf8_rows)
        raise RefusedFile(extract.name, f"the file is not well-formed CSV for its header ({exc})") from None


def _land_utf8_rows(conn: psycopg.Connection, extract: Extract, columns: sql.Composable) -> None:
    """Land a file whose bytes are not all UTF-8: keep the rows that are text; quarantine the ones that
    are not (see _utf8_rows)."""
    conn.execute("rollback to savepoint landing")
    conn.execute("truncate landing")
    copy_sql = sql.SQL("copy landing (_row_number, {}) from stdin with (format csv, encoding 'UTF8')").format(
        columns
    )
    undecodable: list[tuple[int, dict]] = []
    _stream(conn, copy_sql, _utf8_rows(extract.path, extract.header, undecodable), None, None)
    conn.execute(
        "create temp table undecodable (_row_number bigint, raw_row jsonb) on commit drop",
    )
    with conn.cursor() as cur:
        cur.executemany(
            "insert into undecodable values (%s, %s)",
            [(n, psycopg.types.json.Jsonb(row)) for n, row in undecodable],
        )


def _is_nul(exc: psycopg.Error) -> bool:
    """PostgreSQL text cannot hold a NUL byte: it reports one as an invalid UTF-8 sequence 0x00."""
    return (exc.diag.message_primary or "").rstrip().endswith(": 0x00")


def _line(exc: psycopg.Error) -> str:
    found = re.search(r"line (\d+)", exc.diag.context or "")
    return f"line {found.group(1)}" if found else "somewhere after its header"


def _stream(conn, copy_sql, chunks: Iterable[bytes], total: int | None, progress: Progress | None) -> None:
    done = 0
    with conn.cursor().copy(copy_sql) as copy:
        if progress:
            progress(0, total or 0)  # a COPY begins
        for chunk in chunks:
            copy.write(chunk)
            if done == 0:  # inside a COPY, its first chunk streamed
                fault_points.reached("mid-copy")
            done += len(chunk)
            if progress:
                progress(done, total or 0)  # 0: the size is not known (a source database's rows)


def _utf8_rows(path: Path, header: list[str], undecodable: list[tuple[int, dict]]) -> Iterator[bytes]:
    """Re-read a file whose bytes are not all UTF-8: good rows as CSV (numbered), bad rows set aside.

    Only used when COPY found invalid bytes, so the ordinary path never pays for decoding in Python.
    """
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)  # the header
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for number, record in enumerate(reader, start=1):
            if not record:
                continue  # a blank line (after the last row: see _without_trailing_blank_lines)
            if any(_has_surrogates(field) for field in record):
                # Show the bad bytes as Latin-1, the commonest wrong encoding, so a person can read them.
                fixed = [f.encode("utf-8", "surrogateescape").decode("latin-1") for f in record]
                undecodable.append((number, dict(zip(header, fixed, strict=False))))
                continue
            writer.writerow([number, *record])
            if buffer.tell() > CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _where(exc: psycopg.Error) -> str:
    detail = exc.diag.message_primary or str(exc)
    context = (exc.diag.context or "").replace("COPY landing, ", "")
    return f"{detail}; {context}" if context else detail


def _load_batch(
    conn: psycopg.Connection,
    contract: TableContract,
    extract: Extract,
    result: BatchResult,
    progress: Progress | None,
) -> None:
    """Land, check and append one extract.

    The work is arranged around the rows being nearly all good: checking writes only the rows it
    rejects (``rejected``, with every reason), and the good rows go from the landing table to the raw
    table, the current-version table and the batch's counts in one statement, without an intermediate
    copy of the extract.
    """
    ensure_raw_table(conn, contract)
    _copy_into_landing(conn, extract, progress)
    header = extract.header
    for column, mapping in extract.code_maps.items():
        if column in header:  # a source's own codes -> the contract's; unknown ones stay, to be quarantined
            conn.execute(
                sql.SQL(
                    "update landing set {c} = m.target from (select unnest(%s::text[]) as source, "
                    "unnest(%s::text[]) as target) m where btrim(landing.{c}) = m.source"
                ).format(c=sql.Identifier(column)),
                (list(mapping), list(mapping.values())),
            )
    known = [c for c in contract.columns if c.name in header]
    result.extra_columns = [h for h in header if h not in {c.name for c in contract.columns}]
    undecodable = _temp_table_exists(conn, "undecodable")
    policy = unknown_columns_policy(contract, extract.unknown_columns)
    if result.extra_columns and (policy == "drop" or (policy == "restricted" and not contract.personal)):
        header = _set_unknown_columns_aside(conn, contract, result, header, undecodable, policy)
    _reject_rows(
        conn, contract, header, undecodable, extract.formats, extract.window_end, result.source_system
    )

    params = {"batch": result.batch_id, "system": result.source_system}
    # A source system's first load of a table (every key new) skips the work of recognising rows
    # already held: nothing is, and nothing can have been deleted since.
    first_load = not conn.execute(
        sql.SQL("select exists (select 1 from {} where _source_system = %s)").format(current_table(contract)),
        (result.source_system,),
    ).fetchone()[0]
    accepted, inserted, result.content_checksum = _append_accepted(
        conn, contract, header, known, params, first_load, extract.formats
    )
    result.rows_loaded = accepted
    result.rows_unchanged = accepted - inserted
    internal = ["_row_number"]
    undecodable_rows = (
        sql.SQL("pg_temp.undecodable")
        if undecodable
        else sql.SQL("(select null::bigint as _row_number, null::jsonb as raw_row)")
    )
    result.rows_quarantined = conn.execute(
        sql.SQL(
            "insert into {quarantine} (batch_id, source, table_name, file_row_number, reasons, raw_row) "
            "select %(batch)s, %(source)s, %(table)s, rj._row_number, rj._reasons, {raw_row} "
            "from rejected rj left join landing l on l._row_number = rj._row_number "
            "left join {undecodable} u on u._row_number = rj._row_number "
            "cross join lateral (select coalesce(u.raw_row, to_jsonb(l) - {internal}::text[]) as raw) r"
        ).format(
            quarantine=sql.Identifier(*contract.quarantine_table.split(".")),
            raw_row=_quarantined_row(contract),
            internal=sql.Literal(internal),
            undecodable=undecodable_rows,
        ),
        {**params, "source": contract.source, "table": contract.name},
    ).rowcount
    # Counted from what was landed, not summed from the outcomes: the ledger's reconciliation (rows in =
    # loaded + quarantined) then checks that every row went one way or the other.
    result.rows_in = conn.execute(
        sql.SQL("select (select count(*) from landing) + {}").format(
            sql.SQL("(select count(*) from undecodable)") if undecodable else sql.SQL("0")
        )
    ).fetchone()[0]
    if extract.present_keys is not None and not first_load:
        result.rows_deleted = _record_deletions(conn, contract, extract, params)
    notes = []
    if result.extra_columns:
        unknown = ", ".join(result.extra_columns)
        if policy == "drop":
            notes.append(
                f"warning: dropped unknown column(s) {unknown} (not in the contract, and the source holds "
                "personal data: set unknown_columns: restricted in its configuration to keep them)"
            )
        elif policy == "restricted" and not contract.personal:
            notes.append(f"kept unknown column(s) in restricted.unknown_columns: {unknown}")
        else:
            notes.append(f"kept unknown column(s) in _extra: {unknown}")
    if result.rows_unchanged:
        notes.append(f"{result.rows_unchanged} row(s) already loaded, unchanged")
    result.message = "; ".join(notes)


def _set_unknown_columns_aside(
    conn: psycopg.Connection,
    contract: TableContract,
    result: BatchResult,
    header: list[str],
    undecodable: bool,
    policy: str,
) -> list[str]:
    """Take the columns the contract does not know out of the landed rows (and rows set aside as not
    UTF-8) before anything is checked, hashed, appended or quarantined; with ``restricted``, first copy
    their values to ``restricted.unknown_columns``, with the row's case and complainant pseudonym so
    that retention purges them with the person. Returns the header without them."""
    unknown = result.extra_columns
    if policy == "restricted":
        names = {c.name: c for c in contract.columns}

        def key_of(row: sql.Composable, name: str, pseudonymised: bool) -> sql.Composable:
            present = name in names and name in header and (not pseudonymised or names[name].pseudonymise)
            if not present:
                return sql.SQL("null::text")
            value = sql.SQL("nullif(btrim({} ->> {}), '')").format(row, sql.Literal(name))
            return sql.SQL("audit.pseudonym({})").format(value) if pseudonymised else value

        def insert(rows: sql.Composable, raw: sql.Composable) -> None:
            conn.execute(
                sql.SQL(
                    "insert into restricted.unknown_columns (batch_id, source_system, table_name, file_row_number, "
                    "representation_id, complainant_pseudonym, columns) "
                    "select * from (select %(batch)s::bigint, %(system)s, %(table)s, _row_number, {case}, {person}, "
                    "jsonb_strip_nulls({raw} - array(select jsonb_object_keys({raw}) "
                    "except select unnest(%(unknown)s::text[]))) as columns from {rows}) kept "
                    "where columns <> '{{}}'::jsonb"
                ).format(
                    case=key_of(raw, "representation_id", False),
                    person=key_of(raw, "complainant_id", True),
                    raw=raw,
                    rows=rows,
                ),
                {
                    "batch": result.batch_id,
                    "system": result.source_system,
                    "table": contract.name,
                    "unknown": unknown,
                },
            )

        insert(sql.SQL("landing l"), sql.SQL("to_jsonb(l)"))
        if undecodable:
            insert(sql.SQL("pg_temp.undecodable u"), sql.SQL("u.raw_row"))
    for column in unknown:
        conn.execute(sql.SQL("alter table landing drop column {}").format(sql.Identifier(column)))
    if undecodable:
        conn.execute("update undecodable set raw_row = raw_row - %s::text[]", (unknown,))
    return [h for h in header if h not in unknown]


def _reject_rows(
    conn: psycopg.Connection,
    contract: TableContract,
    header: list[str],
    undecodable: bool,
    formats: ValueFormats = DEFAULT_FORMATS,
    window_end: datetime | None = None,
    source_system: str = "file",
) -> None:
    """Fill ``rejected`` with every landed row that breaks its contract and all its reasons: the row
    checks, then duplicate keys, then (after both) the batch rules, which compare only the rows left
    (and, for a rule with ``held_group``, the versions already held)."""
    conn.execute(
        "create temp table rejected (_row_number bigint primary key, _reasons text[] not null) on commit drop"
    )
    conn.execute(
        sql.SQL(
            "insert into rejected select _row_number, _reasons from ("
            "select _row_number, array_remove(array[{checks}]::text[], null) as _reasons "
            "from {prepared} p offset 0) r where cardinality(_reasons) > 0"
        ).format(
            checks=sql.SQL(", ").join(
                [
                    *row_checks.row_checks(contract, header, formats),
                    *_future_check(contract, header, window_end),
                ]
            ),
            prepared=row_checks.prepared_rows(contract, header, sql.SQL("landing"), formats),
        )
    )
    _add_reason(
        conn,
        row_checks.duplicate_key_reason(contract),
        row_checks.duplicate_keys(contract, sql.SQL("landing")),
    )
    if undecodable:
        conn.execute(
            "insert into rejected (_row_number, _reasons) "
            "select _row_number, array['not valid UTF-8 text (shown as Latin-1)'] from undecodable"
        )
    for rule in contract.batch_rules:
        if set(rule.columns) <= set(header):
            clean = sql.SQL(
                "(select * from landing l where not exists "
                "(select 1 from rejected rj where rj._row_number = l._row_number)) as clean"
            )
            if rule.held_group:
                clean = _with_held_versions(conn, contract, rule, source_system, formats)
            offenders = row_checks.batch_rule_query(contract, rule, clean, formats)
            _add_reason(
                conn,
                rule.reason,
                sql.SQL("select _row_number from ({}) o where _row_number is not null").format(offenders),
            )


#: A version stamped later than this after the extract's end (or the load, for a file) is in the future:
#: a wrong clock or a placeholder (2099, infinity). It is quarantined -- it would otherwise stay the
#: current version for good, or move the high-water mark past every later change. A day's margin allows
#: for a source's clock running ahead and for rows changed while the extract was read.
FUTURE_MARGIN = "1 day"


def _future_check(
    contract: TableContract, header: list[str], window_end: datetime | None
) -> list[sql.Composable]:
    """The check (over ``prepared_rows``) that a row's ``updated_at`` is not in the future, if it has one."""
    if contract.version_column not in header:
        return []
    column = contract.column(contract.version_column)
    bound = sql.SQL("{}::timestamptz").format(sql.Literal(window_end)) if window_end else sql.SQL("now()")
    infinite = sql.SQL("lower({}) in ('infinity', '+infinity')").format(sql.Identifier(column.name))
    # A value that reads as a timestamp is compared with the bound; one that does not is refused by its
    # type check, except infinity, which is refused here as what it stands for: never.
    return [
        sql.SQL(
            "case when {v} is not null and case when {typed} is not null "
            "then {typed} > {bound} + interval {margin} else {infinite} end "
            "then format({msg}, {v}, ({bound})::text) end"
        ).format(
            msg=sql.Literal(
                f"{column.name} is in the future: %s (after the extract was taken, %s): "
                "the source's clock or the row is wrong"
            ),
            v=sql.Identifier(column.name),
            infinite=infinite,
            typed=row_checks.prepared(column),
            bound=bound,
            margin=sql.Literal(FUTURE_MARGIN),
        )
    ]


def _with_held_versions(
    conn: psycopg.Connection, contract: TableContract, rule, source_system: str, formats: ValueFormats
) -> sql.Composable:
    """The batch's clean rows (the rule's columns, as text) and the current versions already held of the
    same groups whose keys the batch does not deliver again (``_row_number`` null), for a batch rule
    that compares across nights. The held rows are found by key in the current-version table, then by
    the case index in the raw table (the group's first column is the case)."""
    columns = rule.columns
    clean_cols = sql.SQL(", ").join(sql.SQL("l.{}").format(sql.Identifier(c)) for c in columns)
    clean = sql.SQL(
        "select l._row_number, {cols} from landing l where not exists "
        "(select 1 from rejected rj where rj._row_number = l._row_number)"
    ).format(cols=clean_cols)
    conn.execute("drop table if exists pg_temp.held_rule_rows")
    conn.execute(sql.SQL("create temp table held_rule_rows on commit drop as {}").format(clean))
    held_any = conn.execute(
        sql.SQL("select exists (select 1 from {} where _source_system = %s)").format(current_table(contract)),
        (source_system,),
    ).fetchone()[0]
    if not held_any:  # a source system's first load: nothing held to compare with
        return sql.SQL("held_rule_rows as clean")
    conn.execute("analyze held_rule_rows")
    group, key = rule.held_group, contract.key
    group_match = sql.SQL(" and ").join(
        sql.SQL("cur.{0} = btrim(b.{0})").format(sql.Identifier(g)) for g in group
    )
    key_match = sql.SQL(" and ").join(
        sql.SQL("cur.{0} = btrim(b.{0})").format(sql.Identifier(k)) for k in key
    )
    raw_match = sql.SQL(" and ").join(
        [
            sql.SQL("(r._source_system || ':' || r.{0}) = (cur._source_system || ':' || cur.{0})").format(
                sql.Identifier(group[0])
            ),
            *(sql.SQL("r.{0}::text = cur.{0}").format(sql.Identifier(k)) for k in key),
        ]
    )
    conn.execute(
        sql.SQL(
            "insert into held_rule_rows (_row_number, {cols}) "
            "select null, {raw_cols} from {current} cur join {raw} r on r._batch_id = cur._batch_id "
            "and r._source_system = cur._source_system and {raw_match} and not r._is_deleted "
            "where cur._source_system = %(system)s and not cur._is_deleted "
            "and exists (select 1 from held_rule_rows b where {group_match}) "
            "and not exists (select 1 from held_rule_rows b where {key_match})"
        ).format(
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            # Written back in the form the batch's own cells take, so the rule reads both alike.
            raw_cols=sql.SQL(", ").join(
                row_checks.as_declared_text(
                    contract.column(c), formats, sql.SQL("r.{}").format(sql.Identifier(c))
                )
                for c in columns
            ),
            current=current_table(contract),
            raw=raw_table(contract),
            raw_match=raw_match,
            group_match=group_match,
            key_match=key_match,
        ),
        {"system": source_system},
    )
    return sql.SQL("held_rule_rows as clean")


def _add_reason(conn: psycopg.Connection, reason: str, offenders: sql.Composable) -> None:
    """Add ``reason`` to the reasons of every row ``offenders`` (a query of ``_row_number``) lists."""
    conn.execute(
        sql.SQL(
            "insert into rejected (_row_number, _reasons) "
            "select distinct o._row_number, array[{reason}] from ({offenders}) o "
            "on conflict (_row_number) do update set _reasons = rejected._reasons || excluded._reasons"
        ).format(reason=sql.Literal(reason), offenders=offenders)
    )


def _append_accepted(
    conn: psycopg.Connection,
    contract: TableContract,
    header: list[str],
    known: list,
    params: dict,
    first_load: bool,
    formats: ValueFormats = DEFAULT_FORMATS,
) -> tuple[int, int, str]:
    """Append the batch's accepted rows to the raw table (less those already there, unchanged) and
    point their keys' current versions at them, in one statement; return (rows accepted, rows
    appended, the content checksum of the rows accepted).

    Into an empty table an index is built once, sorted, after the rows are in, rather than entry by
    entry as they go in: the raw table's batch index when the table is empty, the current-version key
    on a source system's first load into an empty current table.
    """
    keys = contract.stored_key
    key_values = [row_checks.stored(contract.column(k), formats) for k in contract.key]
    same_key = sql.SQL(" and ").join(
        sql.SQL("cur.{} = c.{}").format(sql.Identifier(stored_key), sql.Identifier(f"_key_{i}"))
        for i, stored_key in enumerate(keys)
    )
    unchanged = _unchanged(contract, same_key)
    extra = _extra_columns(contract, header)
    stored_columns, stored_values = _stored_columns(known, formats)
    returned_keys, fragments, current_ctes = _current_versions(contract, keys, first_load)
    raw_empty, primary_key = _defer_indexes(conn, contract, first_load, fragments)
    accepted, inserted, checksum = conn.execute(
        sql.SQL(
            "with accepted as ("
            "select l.*, md5(row({cells})::text) as _row_hash, {keys} from landing l "
            "where not exists (select 1 from rejected rj where rj._row_number = l._row_number)), "
            "inserted as (insert into {table} (_batch_id, _row_number, _source_system, _row_hash, _extra, {columns}) "
            "select %(batch)s, _row_number, %(system)s, _row_hash, {extra}, {values} from accepted c "
            "where {not_unchanged} returning _row_hash, {returned_keys}){current_ctes} "
            # An order-independent checksum of what the batch accepted: equal content, equal checksum,
            # however the source ordered it (XOR of the first 64 bits of each row's hash). On a first
            # load every accepted row is inserted: counted from the insert, the accepted rows are read
            # once, not kept for a second reading.
            "select count(*), {inserted_count}, "
            "to_hex(coalesce(bit_xor(('x' || left(_row_hash, 16))::bit(64)::bigint), 0)) from {counted}"
        ).format(
            inserted_count=sql.SQL("count(*)" if first_load else "(select count(*) from inserted)"),
            counted=sql.SQL("inserted" if first_load else "accepted"),
            cells=sql.SQL(", ").join(sql.Identifier(h) for h in hashed_columns(contract, header)),
            keys=sql.SQL(", ").join(
                sql.SQL("{}::text as {}").format(v, sql.Identifier(f"_key_{i}"))
                for i, v in enumerate(key_values)
            ),
            table=raw_table(contract),
            columns=sql.SQL(", ").join(sql.Identifier(c) for c in stored_columns),
            extra=extra,
            values=sql.SQL(", ").join(stored_values),
            not_unchanged=sql.SQL("true") if first_load else sql.SQL("not {}").format(unchanged),
            returned_keys=returned_keys,
            current_ctes=current_ctes,
        ),
        params,
    ).fetchone()
    _restore_indexes(conn, contract, raw_empty, primary_key, fragments)
    return accepted, inserted, checksum


def _unchanged(contract: TableContract, same_key: sql.Composable) -> sql.Composable:
    """A landed row ``c`` whose key's current version has the same content: not appended again."""
    return sql.SQL(
        "exists (select 1 from {current} cur where cur._source_system = %(system)s and {same_key} "
        "and cur._row_hash = c._row_hash and not cur._is_deleted)"
    ).format(current=current_table(contract), same_key=same_key)


def _extra_columns(contract: TableContract, header: list[str]) -> sql.Composable:
    """The file's columns the contract does not know, as the row's ``_extra`` object (or null)."""
    return (
        sql.SQL("jsonb_build_object({})").format(
            sql.SQL(", ").join(
                sql.SQL("{}, {}").format(sql.Literal(h), sql.Identifier(h))
                for h in header
                if h not in {c.name for c in contract.columns}
            )
        )
        if any(h not in {c.name for c in contract.columns} for h in header)
        else sql.SQL("null::jsonb")
    )


def _stored_columns(known: list, formats: ValueFormats) -> tuple[list, list]:
    """The raw table's columns a row fills and the typed (or pseudonymised) values that fill them."""
    stored_columns, stored_values = [], []
    for column in known:
        if column.pseudonymise or column.key_as:
            stored_columns.append(column.key_column)
            stored_values.append(row_checks.stored(column, formats, checked=True))
        if not column.pseudonymise or column.keep_original:
            stored_columns.append(column.name)
            stored_values.append(row_checks.typed(column, formats, checked=True))
    return stored_columns, stored_values


def _current_versions(
    contract: TableContract, keys, first_load: bool
) -> tuple[sql.Composable, dict, sql.Composable]:
    """The keys the insert returns, the fragments naming the current-version table, and the CTEs that
    point each appended row's key at it (new keys inserted; on a later load, held keys updated)."""
    returned_keys = sql.SQL(", ").join(
        sql.SQL("{}::text as {}").format(sql.Identifier(k), sql.Identifier(f"_key_{i}"))
        for i, k in enumerate(keys)
    ) + sql.SQL(", {} as _version_at").format(
        sql.Identifier(contract.version_column) if contract.version_column else sql.SQL("null::timestamptz")
    )
    fragments = {
        "current": current_table(contract),
        "keys": sql.SQL(", ").join(sql.Identifier(k) for k in keys),
        "key_values": sql.SQL(", ").join(sql.Identifier(f"_key_{i}") for i in range(len(keys))),
        "same_key_i": sql.SQL(" and ").join(
            sql.SQL("cur.{} = i.{}").format(sql.Identifier(k), sql.Identifier(f"_key_{i}"))
            for i, k in enumerate(keys)
        ),
    }
    new_versions = sql.SQL(
        "insert into {current} (_source_system, {keys}, _row_hash, _batch_id, _is_deleted, _updated_at) "
        "select %(system)s, {key_values}, _row_hash, %(batch)s, false, _version_at from inserted i"
    ).format(**fragments)
    if first_load:
        current_ctes = sql.SQL(", new_keys as ({})").format(new_versions)
    else:
        # A version older (by the source's own time) than the one held is kept in the raw table but
        # does not become current: a late, older export must not overwrite newer data. Equal times:
        # the later batch wins. A tombstone holds the time of the version it deleted.
        current_ctes = sql.SQL(
            ", changed_keys as (update {current} cur set _row_hash = i._row_hash, _batch_id = %(batch)s, "
            "_is_deleted = false, _updated_at = i._version_at from inserted i "
            "where cur._source_system = %(system)s and {same_key_i} and (i._version_at is null "
            "or cur._updated_at is null or i._version_at >= cur._updated_at)), "
            "new_keys as ({new_versions} where not exists (select 1 from {current} cur "
            "where cur._source_system = %(system)s and {same_key_i}))"
        ).format(new_versions=new_versions, **fragments)

    return returned_keys, fragments, current_ctes


def _defer_indexes(conn: psycopg.Connection, contract: TableContract, first_load: bool, fragments: dict):
    """Into an empty raw table, drop its indexes; on a first load into an empty current table, drop its
    key: both are built once, sorted, after the rows are in. Returns (raw was empty, the key dropped)."""
    raw_empty = not conn.execute(
        sql.SQL("select exists (select 1 from {})").format(raw_table(contract))
    ).fetchone()[0]
    if raw_empty:
        drop_raw_indexes(conn, contract)
    primary_key = None
    if first_load:
        primary_key = conn.execute(
            "select conname from pg_constraint where conrelid = %s::regclass and contype = 'p'",
            (current_table(contract).as_string(conn),),
        ).fetchone()
        empty = not conn.execute(
            sql.SQL("select exists (select 1 from {})").format(fragments["current"])
        ).fetchone()[0]
        if primary_key and empty:
            conn.execute(
                sql.SQL("alter table {} drop constraint {}").format(
                    fragments["current"], sql.Identifier(primary_key[0])
                )
            )
        else:
            primary_key = None

    return raw_empty, primary_key


def _restore_indexes(
    conn: psycopg.Connection, contract: TableContract, raw_empty: bool, primary_key, fragments: dict
) -> None:
    """Build what ``_defer_indexes`` dropped."""
    if raw_empty:
        create_raw_indexes(conn, contract)
    if primary_key:
        conn.execute(
            sql.SQL("alter table {} add constraint {} primary key (_source_system, {})").format(
                fragments["current"], sql.Identifier(primary_key[0]), fragments["keys"]
            )
        )


def hashed_columns(contract: TableContract, header: list[str]) -> list[str]:
    """The order of a row's cells in its hash: the contract's columns, then any extra columns by name --
    not the file's order, so a file whose columns are merely reordered is recognised as unchanged."""
    known = [c.name for c in contract.columns if c.name in header]
    return known + sorted(h for h in header if h not in known)


def _quarantined_row(contract: TableContract) -> sql.Composable:
    """A refused row as kept in quarantine (``r.raw``: the row as delivered). Outside the restricted
    schema a personal identifier is replaced by its pseudonym, as in the raw tables: the audit schema
    holds no one's identity, and the rest of the row still says what was wrong."""
    identifiers = [c for c in contract.columns if c.pseudonymise]
    if contract.personal or not identifiers:
        return sql.SQL("r.raw")
    pseudonyms = sql.SQL(", ").join(
        sql.SQL("{}, audit.pseudonym(nullif(btrim(r.raw ->> {}), ''))").format(
            sql.Literal(c.pseudonym_column), sql.Literal(c.name)
        )
        for c in identifiers
    )
    return sql.SQL("(r.raw - {names}::text[]) || jsonb_strip_nulls(jsonb_build_object({pseudonyms}))").format(
        names=sql.Literal([c.name for c in identifiers]), pseudonyms=pseudonyms
    )


def _temp_table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"pg_temp.{name}",)).fetchone()[0]


def _record_deletions(
    conn: psycopg.Connection, contract: TableContract, extract: Extract, params: dict
) -> int:
    """Tombstone every key the warehouse holds for this source system that the source no longer has."""
    keys = contract.stored_key
    conn.execute(
        sql.SQL("create temp table present_keys ({}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(k)) for k in contract.key)
        )
    )
    _stream(
        conn,
        sql.SQL("copy present_keys from stdin with (format csv, header true)"),
        extract.present_keys(),
        None,
        None,
    )
    # Each key read as the rows' keys were (the same format), so that a key is the same key however
    # the source writes it.
    present = sql.SQL(", ").join(
        sql.SQL("coalesce({}::text, '')").format(row_checks.stored(contract.column(k), extract.formats))
        for k in contract.key
    )
    gone = sql.SQL(
        "select {keys}, _updated_at from {current} where _source_system = %(system)s and not _is_deleted "
        "and ({keys}) not in (select {present} from present_keys)"
    ).format(
        keys=sql.SQL(", ").join(sql.Identifier(k) for k in keys),
        current=current_table(contract),
        present=present,
    )
    conn.execute(sql.SQL("create temp table gone on commit drop as {}").format(gone), params)
    key_list = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
    typed_keys = sql.SQL(", ").join(
        sql.SQL("{}::{}").format(sql.Identifier(k), sql.SQL(t))
        for k, t in contract.stored_columns()
        if k in keys
    )
    # A tombstone is ordered by the time of the version it deletes (see ingestion.raw_tables).
    version = (
        sql.SQL(", {}").format(sql.Identifier(contract.version_column))
        if contract.version_column
        else sql.SQL("")
    )
    deleted = conn.execute(
        sql.SQL(
            "insert into {raw} (_batch_id, _source_system, _is_deleted, {keys}{version}) "
            "select %(batch)s, %(system)s, true, {typed}{version_value} from gone"
        ).format(
            raw=raw_table(contract),
            keys=key_list,
            typed=typed_keys,
            version=version,
            version_value=sql.SQL(", _updated_at") if contract.version_column else sql.SQL(""),
        ),
        params,
    ).rowcount
    conn.execute(
        sql.SQL(
            "update {current} cur set _is_deleted = true, _batch_id = %(batch)s from gone "
            "where cur._source_system = %(system)s and ({cur_keys}) = ({gone_keys})"
        ).format(
            current=current_table(contract),
            cur_keys=sql.SQL(", ").join(sql.SQL("cur.{}").format(sql.Identifier(k)) for k in keys),
            gone_keys=sql.SQL(", ").join(sql.SQL("gone.{}").format(sql.Identifier(k)) for k in keys),
        ),
        params,
    )
    return deleted


def _finish(conn: psycopg.Connection, result: BatchResult) -> None:
    conn.execute(
        "update audit.load_batches set status = %s, rows_in = %s, rows_loaded = %s, rows_unchanged = %s, "
        "rows_quarantined = %s, rows_deleted = %s, content_checksum = %s, extra_columns = %s, message = %s, "
        "finished_at = clock_timestamp() where batch_id = %s",
        (
            result.status,
            result.rows_in,
            result.rows_loaded,
            result.rows_unchanged,
            result.rows_quarantined,
            result.rows_deleted,
            result.content_checksum,
            result.extra_columns,
            result.message or None,
            result.batch_id,
        ),
    )
