"""Extract and load: each configured source's files into its raw schema, one batch per file."""

from __future__ import annotations

from pathlib import Path

from complaints_warehouse.database import Connection, connect
from ingestion.case_system import contract as case_system
from ingestion.contract import TableContract
from ingestion.copy_loader import BatchResult, Progress, RefusedFile, load_file
from ingestion.ombudsman import contract as ombudsman

SOURCES: dict[str, tuple[TableContract, ...]] = {
    case_system.SOURCE: case_system.TABLES,
    ombudsman.SOURCE: ombudsman.TABLES,
}


def extract_files(folder: Path, tables: tuple[TableContract, ...]) -> list[tuple[TableContract, Path]]:
    """The extract's files, in contract order (parents before children): ``<table>.csv`` per table."""
    if not folder.is_dir():
        raise RefusedFile(folder, "the extract folder does not exist")
    found = [
        (table, folder / f"{table.name}.csv") for table in tables if (folder / f"{table.name}.csv").exists()
    ]
    if not found:
        expected = ", ".join(f"{t.name}.csv" for t in tables)
        raise RefusedFile(folder, f"no extract files found (expected {expected})")
    return found


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
    with connect(target, autocommit=True) as conn:
        for table, path in extract_files(folder, SOURCES[source]):
            results.append(load_file(conn, table, path, progress=progress, reload=reload))
    return results
