"""Loader designs measured side by side (issue 20, "rows written once"): a development measurement, not
the product's loader.

Each design loads the same two CSV files (representations and stages, exported as the SQL adapter
extracts them) into a fresh scratch database's raw tables, in rounds, interleaved, so that their ratios
to a bare COPY of the same files hold on a noisy machine:

- ``current``: ``ingestion.copy_loader.load_file``, the product's loader (every check, ledger, quarantine);
- ``bare_copy``: ``COPY ... FROM STDIN`` into typed tables, nothing else (the practical limit);
- ``copy_on_error``: PostgreSQL 17+ ``COPY ... (ON_ERROR ignore, LOG_VERBOSITY verbose)`` straight into
  the raw table, a row trigger filling batch, row number, row hash and pseudonym, then the set-based
  work a batch still needs after it: the current-version table and a duplicate-key pass. A lower bound
  of that design: none of the contract's row checks, no quarantine of the rows COPY skipped;
- ``arrow_client``: a vectorised client (pyarrow's CSV reader; per row in Python only the row hash and
  pseudonym, which Arrow has no kernel for), then ``COPY ... (FORMAT csv)`` of the typed rows into the
  raw table and the same set-based work. Also a lower bound: the contract's checks are not made.
- ``storage_floor``: what writing the rows costs, whatever checking them costs: the rows the current
  loader stored (typed, hashed, pseudonymised, with their lineage), made before the clock starts, are
  COPYed into empty raw tables, their indexes built after (as a first load does) and the current-version
  table filled, with the same set-based work. No design that keeps the raw history, its indexes and the
  current versions can load faster than this.

    PYTHONPATH=. python -m tools.loader_designs --source-database bench_national_source --rounds 2

pyarrow is not a dependency of the project: ``arrow_client`` runs only where it can be imported.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from ingestion.case_system.contract import REPRESENTATIONS, STAGES_TABLE
from ingestion.raw_tables import current_table, ensure_raw_table, raw_table

CONTRACTS = (REPRESENTATIONS, STAGES_TABLE)
KEY = "bench-key-0123456789"


def _header(path: Path) -> list[str]:
    return path.open().readline().strip().split(",")


def design_current(conn: psycopg.Connection, paths: list[Path]) -> None:
    from ingestion.copy_loader import load_file

    for contract, path in zip(CONTRACTS, paths, strict=True):
        load_file(conn, contract, path, source_system="bench", pseudonym_key=KEY)


def design_bare_copy(conn: psycopg.Connection, paths: list[Path]) -> None:
    for contract, path in zip(CONTRACTS, paths, strict=True):
        header = _header(path)
        types = {c.name: c.sql_type for c in contract.columns}
        table = sql.Identifier("bare_" + contract.name)
        conn.execute(
            sql.SQL("create table {} ({})").format(
                table,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(h), sql.SQL(types.get(h, "text"))) for h in header
                ),
            )
        )
        _copy_file(conn, sql.SQL("copy {} from stdin (format csv, header true)").format(table), path)


def _copy_file(conn: psycopg.Connection, statement: sql.Composable, path: Path) -> None:
    with conn.cursor().copy(statement) as copy, path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            copy.write(chunk)


def _after_batch(conn: psycopg.Connection, contract, batch: int) -> None:
    """What a batch written straight into the raw table still needs, set-based on its rows: the keys
    delivered twice, and the current-version table pointed at the new versions."""
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in contract.stored_key)
    raw, current = raw_table(contract), current_table(contract)
    conn.execute(
        sql.SQL(
            "select count(*) from (select {keys} from {raw} where _batch_id = %(b)s "
            "group by {keys} having count(*) > 1) d"
        ).format(keys=keys, raw=raw),
        {"b": batch},
    )
    conn.execute(
        sql.SQL(
            "insert into {current} (_source_system, {keys}, _row_hash, _batch_id, _updated_at) "
            "select distinct on ({keys}) _source_system, {text_keys}, _row_hash, _batch_id, updated_at "
            "from {raw} where _batch_id = %(b)s order by {keys}, updated_at desc, _row_number desc "
            "on conflict (_source_system, {keys}) do update set _row_hash = excluded._row_hash, "
            "_batch_id = excluded._batch_id, _updated_at = excluded._updated_at"
        ).format(
            current=current,
            keys=keys,
            text_keys=sql.SQL(", ").join(
                sql.SQL("{}::text").format(sql.Identifier(k)) for k in contract.stored_key
            ),
            raw=raw,
        ),
        {"b": batch},
    )


TRIGGER = """
create or replace function public.bench_raw_row() returns trigger language plpgsql as $$
begin
    new._batch_id := current_setting('bench.batch')::bigint;
    new._row_number := nextval('public.bench_row_number');
    new._source_system := 'bench';
    if tg_table_name = 'representations' then
        new.complainant_pseudonym := audit.pseudonym(new.complainant_id);
        new.complainant_id := null;
    end if;
    new._row_hash := md5(row(new.*)::text);
    return new;
end $$
"""


def design_copy_on_error(conn: psycopg.Connection, paths: list[Path], *, whole: bool = True) -> None:
    """``whole``: with the row trigger and the set-based work after the COPY; else the COPY alone (what
    the design's COPY costs into the raw table and its indexes)."""
    conn.execute("create sequence if not exists public.bench_row_number")
    conn.execute(TRIGGER)
    with conn.transaction():
        conn.execute("select set_config('warehouse.pseudonym_key', %s, true)", (KEY,))
        for batch, (contract, path) in enumerate(zip(CONTRACTS, paths, strict=True), start=1):
            ensure_raw_table(conn, contract)
            raw = raw_table(contract)
            if contract is REPRESENTATIONS:  # the identifier COPY reads, cleared by the trigger
                conn.execute(
                    sql.SQL("alter table {} add column if not exists complainant_id text").format(raw)
                )
            if whole:
                conn.execute(
                    sql.SQL(
                        "create trigger bench_raw_row before insert on {} for each row "
                        "execute function public.bench_raw_row()"
                    ).format(raw)
                )
            conn.execute("select set_config('bench.batch', %s, true)", (str(batch),))
            conn.execute("alter sequence public.bench_row_number restart")
            _copy_file(
                conn,
                sql.SQL(
                    "copy {} ({}) from stdin (format csv, header true, on_error ignore, log_verbosity verbose)"
                ).format(raw, sql.SQL(", ").join(sql.Identifier(h) for h in _header(path))),
                path,
            )
            if whole:
                _after_batch(conn, contract, batch)


def design_arrow_client(conn: psycopg.Connection, paths: list[Path], *, whole: bool = True) -> None:
    """``whole``: the client's rows COPYed and the set-based work after; else the client alone (its rows
    written nowhere)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    with conn.transaction():
        for batch, (contract, path) in enumerate(zip(CONTRACTS, paths, strict=True), start=1):
            ensure_raw_table(conn, contract)
            header = _header(path)
            columns = {c.name: c for c in contract.columns}
            reader = pacsv.open_csv(
                path,
                convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string())),
                read_options=pacsv.ReadOptions(block_size=1 << 22),
            )
            out_names = [
                "_batch_id",
                "_row_number",
                "_source_system",
                "_row_hash",
                *(columns[h].key_column if columns[h].pseudonymise else h for h in header),
            ]
            statement = sql.SQL("copy {} ({}) from stdin (format csv)").format(
                raw_table(contract), sql.SQL(", ").join(sql.Identifier(n) for n in out_names)
            )
            row_number = 0
            with contextlib.ExitStack() as stack:
                copy = stack.enter_context(conn.cursor().copy(statement)) if whole else io.BytesIO()
                for block in reader:
                    n = block.num_rows
                    cells = [block.column(h) for h in header]
                    # Typed and checked vectorised: each typed column read with Arrow's kernels (a
                    # failure here is where the contract's type checks would go).
                    typed = []
                    for h, cell in zip(header, cells, strict=True):
                        trimmed = pc.if_else(
                            pc.equal(pc.utf8_trim_whitespace(cell), ""), None, pc.utf8_trim_whitespace(cell)
                        )
                        kind = columns[h].type
                        if kind == "date":
                            typed.append(
                                pc.strftime(
                                    pc.strptime(trimmed, format="%Y-%m-%d", unit="s"), format="%Y-%m-%d"
                                )
                            )
                        elif kind in ("integer", "numeric"):
                            typed.append(
                                pc.cast(
                                    pc.cast(trimmed, pa.float64() if kind == "numeric" else pa.int64()),
                                    pa.string(),
                                )
                            )
                        else:
                            typed.append(trimmed)
                    texts = [c.to_pylist() for c in cells]
                    rows = list(zip(*texts, strict=True))
                    hashes = [
                        hashlib.md5(("(" + ",".join(v or "" for v in r) + ")").encode()).hexdigest()
                        for r in rows
                    ]
                    for i, h in enumerate(header):
                        if columns[h].pseudonymise:
                            values = texts[i]
                            typed[i] = pa.array(
                                [
                                    None
                                    if v is None or v == ""
                                    else "P" + hashlib.sha256(f"{KEY}:{v}".encode()).hexdigest()[:20]
                                    for v in values
                                ]
                            )
                    table = pa.table(
                        [
                            pa.array([batch] * n, pa.int64()),
                            pa.array(range(row_number + 1, row_number + n + 1), pa.int64()),
                            pa.array(["bench"] * n),
                            pa.array(hashes),
                            *typed,
                        ],
                        names=out_names,
                    )
                    row_number += n
                    buffer = io.BytesIO()
                    pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
            if whole:
                _after_batch(conn, contract, batch)


def prepare_storage_floor(target, paths: list[Path]) -> None:
    """Before the clock: load the files once with the current loader in a scratch database and keep its
    raw tables' rows beside the files (``<file>.raw``), as ``storage_floor`` COPYs them."""
    from tools import bench

    scratch = bench._scratch_database(target, "bench_design_floor")
    with psycopg.connect(scratch.conninfo, autocommit=True) as conn:
        design_current(conn, paths)
        for contract, path in zip(CONTRACTS, paths, strict=True):
            with (
                conn.cursor().copy(
                    sql.SQL("copy {} to stdout (format csv)").format(raw_table(contract))
                ) as copy,
                path.with_suffix(".raw").open("wb") as out,
            ):
                for chunk in copy:
                    out.write(chunk)
    bench.drop_database(target, "bench_design_floor")


def design_storage_floor(conn: psycopg.Connection, paths: list[Path]) -> None:
    from ingestion.raw_tables import create_raw_indexes, drop_raw_indexes

    for contract, path in zip(CONTRACTS, paths, strict=True):
        ensure_raw_table(conn, contract)
        drop_raw_indexes(conn, contract)
        columns = [
            name
            for (name,) in conn.execute(
                "select attname::text from pg_attribute where attrelid = %s::regclass and attnum > 0 "
                "and not attisdropped order by attnum",
                (raw_table(contract).as_string(conn),),
            )
        ]
        _copy_file(
            conn,
            sql.SQL("copy {} ({}) from stdin (format csv)").format(
                raw_table(contract), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
            ),
            path.with_suffix(".raw"),
        )
        create_raw_indexes(conn, contract)
        # The batch the current loader gave the rows (one file, one batch), looked up in its index.
        (held_batch,) = conn.execute(
            sql.SQL("select max(_batch_id) from {}").format(raw_table(contract))
        ).fetchone()
        _after_batch(conn, contract, held_batch)


def _rows_written(conn: psycopg.Connection, design: str) -> int:
    tables = (
        [sql.Identifier("bare_" + c.name) for c in CONTRACTS]
        if design == "bare_copy"
        else [raw_table(c) for c in CONTRACTS]
    )
    return sum(conn.execute(sql.SQL("select count(*) from {}").format(t)).fetchone()[0] for t in tables)


DESIGNS = {
    "current": design_current,
    "bare_copy": design_bare_copy,
    "copy_on_error": design_copy_on_error,
    "arrow_client": design_arrow_client,
    "copy_on_error_copy_only": functools.partial(design_copy_on_error, whole=False),
    "arrow_client_only": functools.partial(design_arrow_client, whole=False),
    "storage_floor": design_storage_floor,
}


def main() -> None:
    from complaints_warehouse import pipeline
    from complaints_warehouse.settings import load_settings
    from tools import bench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-database", default=None, help="a simulated case system already made")
    parser.add_argument("--representations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--designs", default="current,bare_copy,copy_on_error,arrow_client")
    args = parser.parse_args()
    settings = load_settings()
    target = pipeline.prepare(settings)
    designs = args.designs.split(",")
    if "arrow_client" in designs:
        import pyarrow.csv  # noqa: F401  (imported before the clock starts)
    seconds: dict[str, list[float]] = {d: [] for d in designs}
    with tempfile.TemporaryDirectory(prefix="cw-designs-") as tmp:
        folder = Path(tmp)
        rows = bench.export_extract(
            settings, target, args.representations, folder, print, args.source_database
        )
        total = rows["representations"] + rows["stages"]
        paths = [folder / "representations.csv", folder / "stages.csv"]
        print(
            f"Extract: {rows['representations']:,} representations + {rows['stages']:,} stages = {total:,} rows"
        )
        if "storage_floor" in designs:
            prepare_storage_floor(target, paths)
        for round_ in range(args.rounds):
            for design in designs:
                scratch = bench._scratch_database(target, "bench_design")
                with psycopg.connect(scratch.conninfo, autocommit=True) as conn:
                    started = time.perf_counter()
                    DESIGNS[design](conn, paths)
                    seconds[design].append(time.perf_counter() - started)
                print(
                    f"  round {round_ + 1} {design}: {seconds[design][-1]:.1f} s ({total / seconds[design][-1]:,.0f} rows/s)"
                )
        bench.drop_database(target, "bench_design")
    medians = {d: statistics.median(s) for d, s in seconds.items()}
    copy_s = medians.get("bare_copy")
    figures = {
        d: {
            "s": round(m, 2),
            "rows_per_s": round(total / m),
            "vs_copy": round(copy_s / m, 3) if copy_s else None,
        }
        for d, m in medians.items()
    }
    print(json.dumps({"rows": total, "rounds": args.rounds, "designs": figures}, indent=2))


if __name__ == "__main__":
    main()
