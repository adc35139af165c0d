"""Pick up a source system's nightly CSV exports from a landing folder, mapped onto the contract.

Most councils export files rather than open their database. Each table's files match a glob (``from``);
they load in name order, oldest first. A loaded file moves to ``archive/``, a refused one to
``refused/`` with a note of why, so no file is processed twice; a file whose content was loaded before
is skipped by checksum even if it is dropped again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ingestion.copy_loader import normalise_header
from ingestion.source_config import SourceConfig, SourceConfigError, TableMapping

FILE_SUFFIXES = (".csv", ".xlsx")


def pending_files(config: SourceConfig) -> Iterator[tuple[TableMapping, Path]]:
    """Every file waiting in the landing folder, table by table in contract order."""
    landing = config.landing
    if landing is None or not landing.is_dir():
        # A setting to fix, not a transient failure: say so the way every configuration error does.
        raise SourceConfigError(config.path, f"the landing folder {landing} does not exist")
    for mapping in config.tables:
        literal = not any(ch in mapping.source for ch in "*?[")
        named = Path(mapping.source).suffix.lower() in FILE_SUFFIXES  # cases.xlsx, never cases.xlsx.csv
        pattern = f"{mapping.source}.csv" if literal and not named else mapping.source
        for path in sorted(p for p in landing.glob(pattern) if p.is_file()):
            yield mapping, path


def renames(mapping: TableMapping) -> dict[str, str]:
    """The file's column names (normalised) -> the contract's."""
    return {normalise_header(source): target for target, source in mapping.columns.items()}


def archive(config: SourceConfig, path: Path, *, refused_because: str | None = None) -> Path | None:
    """Move a processed file out of the landing folder (unless the source keeps its files in place)."""
    if not config.archive:
        return None
    folder = (
        config.landing
        / ("refused" if refused_because else "archive")
        / datetime.now(UTC).strftime("%Y-%m-%d")
    )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{datetime.now(UTC).strftime('%H%M%S%f')}{path.suffix}"
    shutil.move(str(path), target)
    if refused_because:
        target.with_name(target.name + ".refused.txt").write_text(refused_because + "\n")
    return target
