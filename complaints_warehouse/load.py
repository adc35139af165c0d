"""Extract and load: each configured source's files into its raw schema, one batch per file.

Case-system and reference files are already in the warehouse's canonical CSV layout. The Ombudsman's
published files (CSV or XLSX, with headers and labels that vary by year) and the ONS national
population file are first normalised into that layout, in a scratch folder; the ledger still names the
file as delivered.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from complaints_warehouse.database import Connection, connect
from ingestion.case_system import contract as case_system
from ingestion.contract import TableContract
from ingestion.copy_loader import BatchResult, Progress, RefusedFile, ensure_raw_table, load_file
from ingestion.ombudsman import contract as ombudsman
from ingestion.ombudsman.normalise import normalise_file
from ingestion.reference import contract as reference
from ingestion.reference import population

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


def record_refusal(conn: psycopg.Connection, table: TableContract, path: Path, problem: str) -> None:
    """Put a refusal found before loading (while normalising) in the ledger, like the loader's own."""
    conn.execute(
        "insert into audit.load_batches (source, table_name, source_file, status, message, finished_at) "
        "values (%s, %s, %s, 'refused', %s, clock_timestamp())",
        (table.source, table.name, str(path), problem),
    )


def _files(folder: Path, source: str) -> Iterator[ExtractFile]:
    yield from find_files(folder, SOURCES[source], published=source == ombudsman.SOURCE)


def load_source(
    target: Connection,
    source: str,
    folder: Path,
    *,
    progress: Progress | None = None,
    reload: bool = False,
) -> list[BatchResult]:
    """Load every file of ``source`` found in ``folder``; stop at the first refused file."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; known sources: {', '.join(SOURCES)}")
    results = []
    with connect(target, autocommit=True) as conn, tempfile.TemporaryDirectory(prefix="cw-load-") as scratch:
        # Every table the source's models and rules read exists, even when this delivery lacks its file.
        for table in (*LOOKUPS.get(source, ()), *SOURCES[source]):
            ensure_raw_table(conn, table)
        for file in _files(folder, source):
            try:
                canonical = _canonical(file, Path(scratch))
            except RefusedFile as exc:
                record_refusal(conn, file.table, file.path, exc.problem)
                raise
            results.append(
                load_file(
                    conn, file.table, canonical, progress=progress, reload=reload, source_file=file.path
                )
            )
    return results
