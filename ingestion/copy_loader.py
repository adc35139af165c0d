"""Load one delimited file into a raw table with PostgreSQL COPY, checking every row in SQL.

The file streams into a temporary landing table of text columns (COPY, constant memory). One set-based
pass then gives each row the list of ways it breaks its contract; clean rows are appended to
``raw_<source>.<table>`` with the batch id, the rest go to ``audit.quarantine`` whole, with their reasons.
All of it commits together with the batch's ledger row, or none of it does.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from ingestion.contract import Column, TableContract

Progress = Callable[[int, int], None]
CHUNK_BYTES = 1 << 20


class RefusedFile(ValueError):
    """A file that is not the contract at all; refused whole, nothing from it is loaded."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"Refused {path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass
class BatchResult:
    """What happened to one file: the ledger row, as the caller sees it."""

    source: str
    table: str
    file: str
    status: str
    batch_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    extra_columns: list[str] = field(default_factory=list)
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def normalise_header(name: str) -> str:
    """``Received Date`` and ``received-date`` both mean ``received_date``."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_header(path: Path, contract: TableContract) -> list[str]:
    """The file's column names, normalised; refuse a file that cannot be this contract's CSV."""
    if not path.is_file():
        raise RefusedFile(path, "the file does not exist")
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    if not head.strip():
        raise RefusedFile(path, "the file is empty (expected a CSV header row)")
    if b"\x00" in head or head.startswith(b"PK\x03\x04"):
        raise RefusedFile(path, "the file is binary, not CSV text (an XLSX or other binary file?)")
    first_line = head.split(b"\n", 1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RefusedFile(path, "the header row is not UTF-8 text") from None
    header = [normalise_header(h) for h in next(csv.reader(io.StringIO(text)))]
    if any(h == "" for h in header):
        raise RefusedFile(path, "the header row has an empty column name")
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise RefusedFile(path, f"the header names these columns more than once: {', '.join(duplicates)}")
    missing = [c for c in contract.required_columns if c not in header]
    if missing:
        raise RefusedFile(
            path,
            f"missing required column(s) {', '.join(missing)} for {contract.qualified_name} "
            f"(found: {', '.join(header) or 'none'})",
        )
    return header


def ensure_raw_table(conn: psycopg.Connection, contract: TableContract) -> None:
    """Create the append-only raw table, and add any column the contract has gained since."""
    table = sql.Identifier(contract.raw_schema, contract.name)
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            "_batch_id bigint not null references audit.load_batches (batch_id), "
            "_row_number bigint not null, "
            "_loaded_at timestamptz not null default now(), "
            "_extra jsonb)"
        ).format(table)
    )
    for column in contract.columns:
        conn.execute(
            sql.SQL("alter table {} add column if not exists {} {}").format(
                table, sql.Identifier(column.name), sql.SQL(column.sql_type)
            )
        )
    conn.execute(
        sql.SQL("create index if not exists {} on {} (_batch_id)").format(
            sql.Identifier(f"{contract.name}_batch_idx"), table
        )
    )
    conn.execute(sql.SQL("comment on table {} is {}").format(table, sql.Literal(contract.description)))


def _value(column: str) -> sql.Composable:
    """The cell as delivered, trimmed; empty means missing."""
    return sql.SQL("nullif(btrim({}), '')").format(sql.Identifier(column))


def _typed(column: Column) -> sql.Composable:
    return sql.SQL("{}::{}").format(_value(column.name), sql.SQL(column.sql_type))


def _column_checks(column: Column, required: bool) -> list[sql.Composable]:
    value = _value(column.name)
    checks: list[sql.Composable] = []
    if required:
        checks.append(
            sql.SQL("case when {} is null then {} end").format(value, sql.Literal(f"missing {column.name}"))
        )
    if column.type != "text":
        checks.append(
            sql.SQL("case when not audit.is_valid_as({v}, {t}) then format({msg}, {v}) end").format(
                v=value,
                t=sql.Literal(column.sql_type),
                msg=sql.Literal(f"{column.name} is not a {column.type}: %s"),
            )
        )
    if column.codes:
        checks.append(
            sql.SQL("case when {v} <> all({codes}) then format({msg}, {v}) end").format(
                v=value,
                codes=sql.Literal(list(column.codes)),
                msg=sql.Literal(f"unknown {column.name} code: %s (allowed: {', '.join(column.codes)})"),
            )
        )
    for bound, op, word in ((column.min_value, "<", "below"), (column.max_value, ">", "above")):
        if bound is not None:
            checks.append(
                sql.SQL(
                    "case when audit.is_valid_as({v}, 'numeric') and {v}::numeric {op} {b} then format({msg}, {v}) end"
                ).format(
                    v=value,
                    op=sql.SQL(op),
                    b=sql.Literal(bound),
                    msg=sql.Literal(f"{column.name} {word} {bound:g}: %s"),
                )
            )
    return checks


def _rule_checks(contract: TableContract, header: list[str]) -> list[sql.Composable]:
    checks = []
    for rule in contract.rules:
        if not set(rule.columns) <= set(header):
            continue  # an optional column the file does not carry: nothing to compare
        columns = [contract.column(name) for name in rule.columns]
        guard = sql.SQL(" and ").join(
            sql.SQL("{v} is not null and audit.is_valid_as({v}, {t})").format(
                v=_value(c.name), t=sql.Literal(c.sql_type)
            )
            for c in columns
        )
        violation = sql.SQL(rule.violation).format(**{c.name: _typed(c) for c in columns})
        checks.append(
            sql.SQL("case when {} and ({}) then {} end").format(guard, violation, sql.Literal(rule.reason))
        )
    return checks


def _duplicate_key_check(contract: TableContract) -> sql.Composable:
    partition = sql.SQL(", ").join(_value(k) for k in contract.key)
    return sql.SQL("case when count(*) over (partition by {}) > 1 then {} end").format(
        partition, sql.Literal(f"duplicate key in batch ({', '.join(contract.key)})")
    )


def _copy_into_landing(
    conn: psycopg.Connection, path: Path, header: list[str], progress: Progress | None
) -> None:
    conn.execute(
        sql.SQL("create temp table landing (_row_number bigserial, {}) on commit drop").format(
            sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(h)) for h in header)
        )
    )
    copy_sql = sql.SQL("copy landing ({}) from stdin with (format csv, header true, encoding 'UTF8')").format(
        sql.SQL(", ").join(sql.Identifier(h) for h in header)
    )
    total = path.stat().st_size
    done = 0
    try:
        with conn.cursor().copy(copy_sql) as copy, path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
                copy.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    except (psycopg.errors.CharacterNotInRepertoire, psycopg.errors.UntranslatableCharacter) as exc:
        raise RefusedFile(path, f"the file is not UTF-8 text ({_where(exc)})") from None
    except (psycopg.errors.BadCopyFileFormat, psycopg.errors.InvalidTextRepresentation) as exc:
        raise RefusedFile(path, f"the file is not well-formed CSV for its header ({_where(exc)})") from None


def _where(exc: psycopg.Error) -> str:
    detail = exc.diag.message_primary or str(exc)
    context = (exc.diag.context or "").replace("COPY landing, ", "")
    return f"{detail}; {context}" if context else detail


def load_file(
    conn: psycopg.Connection,
    contract: TableContract,
    path: Path,
    *,
    progress: Progress | None = None,
    reload: bool = False,
    source_file: Path | None = None,
) -> BatchResult:
    """Load ``path`` as one batch of ``contract``'s table.

    A file whose content was already loaded is skipped (re-running a night changes nothing) unless
    ``reload``. A file that cannot be this table at all raises ``RefusedFile`` after recording the refusal
    in the ledger. ``conn`` must be in autocommit mode: the ledger row outlives a failed batch.
    ``source_file`` names the file as delivered when ``path`` is its normalised copy (for the ledger).
    """
    if not conn.autocommit:
        raise ValueError("load_file needs an autocommit connection")
    path = Path(path)
    result = BatchResult(contract.source, contract.name, str(source_file or path), status="running")
    checksum = file_checksum(path) if path.is_file() else None
    with conn.transaction():
        result.batch_id = conn.execute(
            "insert into audit.load_batches (source, table_name, source_file, file_checksum) "
            "values (%s, %s, %s, %s) returning batch_id",
            (contract.source, contract.name, result.file, checksum),
        ).fetchone()[0]
        earlier = conn.execute(
            "select batch_id from audit.load_batches where source = %s and table_name = %s "
            "and file_checksum = %s and status = 'loaded' order by batch_id desc limit 1",
            (contract.source, contract.name, checksum),
        ).fetchone()
    if earlier and not reload:
        result.status, result.message = "skipped", f"same content as batch {earlier[0]}, already loaded"
        _finish(conn, result)
        return result
    try:
        header = read_header(path, contract)
        with conn.transaction():
            _load_batch(conn, contract, path, header, result, progress)
            result.status = "loaded"
            _finish(conn, result)
    except RefusedFile as exc:
        result.status, result.message = "refused", exc.problem
        _finish(conn, result)
        raise
    except Exception as exc:
        result.status, result.message = "failed", f"{type(exc).__name__}: {exc}"
        _finish(conn, result)
        raise
    return result


def _load_batch(
    conn: psycopg.Connection,
    contract: TableContract,
    path: Path,
    header: list[str],
    result: BatchResult,
    progress: Progress | None,
) -> None:
    ensure_raw_table(conn, contract)
    _copy_into_landing(conn, path, header, progress)

    known = [c for c in contract.columns if c.name in header]
    result.extra_columns = [h for h in header if h not in {c.name for c in contract.columns}]
    checks = [
        check
        for column in known
        for check in _column_checks(column, required=column.name in contract.required_columns)
    ]
    checks += _rule_checks(contract, header) + [_duplicate_key_check(contract)]
    conn.execute(
        sql.SQL(
            "create temp table checked on commit drop as "
            "select l.*, array_remove(array[{}]::text[], null) as _reasons from landing l"
        ).format(sql.SQL(", ").join(checks))
    )

    extra = (
        sql.SQL("jsonb_build_object({})").format(
            sql.SQL(", ").join(
                sql.SQL("{}, {}").format(sql.Literal(h), sql.Identifier(h)) for h in result.extra_columns
            )
        )
        if result.extra_columns
        else sql.SQL("null::jsonb")
    )
    loaded = conn.execute(
        sql.SQL(
            "insert into {table} (_batch_id, _row_number, _extra, {columns}) "
            "select %(batch)s, _row_number, {extra}, {values} from checked where cardinality(_reasons) = 0"
        ).format(
            table=sql.Identifier(contract.raw_schema, contract.name),
            columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in known),
            extra=extra,
            values=sql.SQL(", ").join(_typed(c) for c in known),
        ),
        {"batch": result.batch_id},
    ).rowcount
    quarantined = conn.execute(
        "insert into audit.quarantine (batch_id, source, table_name, file_row_number, reasons, raw_row) "
        "select %(batch)s, %(source)s, %(table)s, _row_number, _reasons, "
        "to_jsonb(c) - '_row_number' - '_reasons' from checked c where cardinality(_reasons) > 0",
        {"batch": result.batch_id, "source": contract.source, "table": contract.name},
    ).rowcount
    result.rows_in = conn.execute("select count(*) from landing").fetchone()[0]
    result.rows_loaded, result.rows_quarantined = loaded, quarantined
    if result.extra_columns:
        result.message = f"kept unknown column(s) in _extra: {', '.join(result.extra_columns)}"


def _finish(conn: psycopg.Connection, result: BatchResult) -> None:
    conn.execute(
        "update audit.load_batches set status = %s, rows_in = %s, rows_loaded = %s, rows_quarantined = %s, "
        "extra_columns = %s, message = %s, finished_at = clock_timestamp() where batch_id = %s",
        (
            result.status,
            result.rows_in,
            result.rows_loaded,
            result.rows_quarantined,
            result.extra_columns,
            result.message or None,
            result.batch_id,
        ),
    )
