"""Pull a source system's tables from any database SQLAlchemy can reach, mapped onto the contract.

The query is built with SQLAlchemy Core from reflected tables (names come from configuration, so they are
checked against the database, never pasted). A PostgreSQL source streams with ``COPY (query) TO STDOUT``;
any other database streams rows through the driver. Either way memory stays flat.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ingestion.copy_loader import CHUNK_BYTES, Extract, RefusedFile
from ingestion.source_config import SourceConfig, TableMapping
from ingestion.value_formats import ISO_DATE, ISO_TIMESTAMP, ValueFormats

#: As ``copy_loader.FUTURE_MARGIN``: rows stamped later than this after the window's end are read, to be
#: quarantined as being in the future.
FUTURE_MARGIN = timedelta(days=1)


def engine_for(config: SourceConfig) -> sa.Engine:
    url = config.url or ""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return sa.create_engine(url, pool_pre_ping=True)


def _reflect(engine: sa.Engine, mapping: TableMapping, config: SourceConfig) -> sa.Table:
    schema, _, name = mapping.source.rpartition(".")
    try:
        return sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=engine)
    except sa.exc.NoSuchTableError:
        raise RefusedFile(
            f"{config.source_system}:{mapping.source}", "the source table does not exist"
        ) from None


def build_query(table: sa.Table, mapping: TableMapping, config: SourceConfig) -> tuple[sa.Select, list[str]]:
    """The contract's columns, renamed and code-mapped, from one source table. Unknown codes pass
    through unchanged, so the loader quarantines them by name."""
    expressions = contract_columns(table, mapping, config)
    return sa.select(*expressions.values()), list(expressions)


def contract_columns(
    table: sa.Table, mapping: TableMapping, config: SourceConfig
) -> dict[str, sa.ColumnElement]:
    """Contract column name -> the source expression that gives it (renamed, codes mapped)."""
    selected: dict[str, sa.ColumnElement] = {}
    for column in mapping.contract.columns:
        source_name = mapping.source_column(column.name)
        if source_name not in table.c:
            if column.name in mapping.contract.required_columns:
                raise RefusedFile(
                    f"{config.source_system}:{mapping.source}",
                    f"missing required column {source_name!r} (for {column.name})",
                )
            continue
        expression: sa.ColumnElement = table.c[source_name]
        if column.name in mapping.codes:
            text = sa.cast(expression, sa.Text)
            expression = sa.case(
                *[(text == source, target) for source, target in mapping.codes[column.name].items()],
                else_=text,
            )
        selected[column.name] = expression.label(column.name)
    return selected


def _updated_at(table: sa.Table, mapping: TableMapping) -> sa.Column:
    return table.c[mapping.source_column("updated_at")]


def table_extract(
    engine: sa.Engine,
    config: SourceConfig,
    mapping: TableMapping,
    since: datetime | None,
    until: datetime,
    *,
    detect_deletions: bool,
    read_future: bool = False,
) -> Extract:
    """The rows of one table changed in (since, until], as an extract the loader can COPY.

    ``read_future`` (an incremental load) also reads the rows stamped more than a day after ``until``
    (2099, infinity: a wrong clock or a placeholder), so that the loader quarantines them, with their
    reason, rather than skipping them without a trace (see ``copy_loader.FUTURE_MARGIN``). Rows changed
    within that day after ``until`` are left for the next load, as before.
    """
    table = _reflect(engine, mapping, config)
    query, header = build_query(table, mapping, config)
    updated = _updated_at(table, mapping)
    if read_future:
        query = query.where(sa.or_(updated <= until, updated > until + FUTURE_MARGIN))
    else:
        query = query.where(updated <= until)
    if since is not None:
        query = query.where(updated > since)
    query = query.order_by(updated)
    keys = None
    if detect_deletions and mapping.detect_deletions:
        expressions = contract_columns(table, mapping, config)
        key_query = sa.select(*[expressions[k] for k in mapping.contract.key])
        keys = _streamer(engine, key_query, list(mapping.contract.key))
    return Extract(
        name=f"{config.source_system}:{mapping.source}",
        header=header,
        chunks=_streamer(engine, query, header),
        window_start=since,
        window_end=until,
        present_keys=keys,
        formats=extract_formats(table, mapping),
    )


def extract_formats(table: sa.Table, mapping: TableMapping) -> ValueFormats:
    """The table's declared formats, except for the source's own date and timestamp columns: the
    extract writes those itself, in ISO 8601 (a declared format is for dates kept as text)."""
    typed = {}
    for column in mapping.contract.columns:
        source = table.c.get(mapping.source_column(column.name))
        if column.type in ("date", "timestamp") and source is not None:
            if isinstance(source.type, sa.DateTime):
                typed[column.name] = ISO_TIMESTAMP if column.type == "timestamp" else ISO_DATE
            elif isinstance(source.type, sa.Date):
                typed[column.name] = ISO_DATE if column.type == "date" else ISO_TIMESTAMP
    return mapping.formats.with_columns(typed)


def _streamer(engine: sa.Engine, query: sa.Select, header: list[str]):
    if engine.dialect.name == "postgresql":
        return lambda: _copy_out(engine, query)
    return lambda: _rows_out(engine, query, header)


def _copy_out(engine: sa.Engine, query: sa.Select) -> Iterator[bytes]:
    """PostgreSQL source: the server writes the CSV itself (COPY TO STDOUT).

    Its session writes dates in ISO 8601 and instants in UTC (``+00``) whatever the source server's
    DateStyle and TimeZone, so the same rows are always the same text (their hash finds them unchanged).
    Its timestamps without time zone are written as they are, wall-clock times the loader reads in the
    source's declared time zone; the extraction window compares them as UTC, which the overlap covers."""
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(
                "select set_config('DateStyle', 'ISO, YMD', false), set_config('TimeZone', 'UTC', false)"
            )
        with (
            raw.cursor() as cur,
            cur.copy(f"copy ({compiled}) to stdout with (format csv, header true)") as copy,
        ):
            buffer = bytearray()
            for data in copy:
                buffer += data
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
            yield bytes(buffer)
    finally:
        raw.close()


def _rows_out(engine: sa.Engine, query: sa.Select, header: list[str]) -> Iterator[bytes]:
    """Any other source: stream rows from the driver and write them as CSV."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    with engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=10_000).execute(query):
            writer.writerow([_text(v) for v in row])
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def _text(value: object) -> str:
    """A driver's value as the contract reads it: ISO 8601 dates and times, plain decimals (never
    ``1E+2`` or a float's ``1e-05``), true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = Decimal(repr(value)) if math.isfinite(value) else value
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
