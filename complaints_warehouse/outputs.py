"""Every file the warehouse writes for people (reports, their CSV tables, the run summary, the dbt docs
page, subject-access exports) goes through here.

- **Atomic**: the content is written to a temporary file in the same folder, flushed to disk, then
  renamed over the target (``os.replace``). A reader sees the old file or the new one, never half of
  one; a full disk or a read-only folder leaves the old file as it was and no temporary file behind.
- **A clear message**: any ``OSError`` (permission denied, no space left, a read-only file system, a
  folder that cannot be made) becomes ``OutputNotWritten`` naming the file and what to check, which
  the command line prints without a traceback (exit 2) and a pipeline run records as failed.
- **Private files**: ``mode=0o600`` makes the file readable by its owner only from the moment it
  exists (the temporary file is created so); ``exclusive=True`` refuses to replace an existing file.
- **CSV cells are never formulas** (``csv_text``): a text cell starting with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return is prefixed with ``'`` so a spreadsheet shows it rather than
  running it (OWASP's CSV injection advice). Numbers typed as numbers (``int``, ``float``,
  ``Decimal``) are written as they are, so ``-3`` stays a negative number.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from complaints_warehouse.errors import ConfigError, Unavailable

#: What a spreadsheet may read as the start of a formula (or, for tab and CR, of a hidden one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class OutputNotWritten(Unavailable, RuntimeError):
    """A file could not be written; the message names it, the reason and what to check."""

    def __init__(self, path: Path, error: OSError | str):
        reason = error if isinstance(error, str) else (error.strerror or str(error))
        super().__init__(
            f"Could not write {path}: {reason}. Nothing was changed there. Check that the folder "
            f"{path.parent} exists, is writable by this user and has free space (reports and run "
            "summaries go to WAREHOUSE_OUTPUTS_DIR)."
        )
        self.path = path


class OutputExists(ConfigError, FileExistsError):
    """A file that must not be replaced (``exclusive``) is already there."""

    def __init__(self, path: Path, advice: str = ""):
        super().__init__(f"{path} already exists; it was left as it was{': ' + advice if advice else ''}.")
        self.path = path


@contextlib.contextmanager
def log_file(path: Path | str):
    """A log another process writes as it runs (``make run``'s Airflow and dbt output): streamed, so
    not atomic, but a folder that cannot be written is the same clear ``OutputNotWritten``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise OutputNotWritten(path, exc) from None
    with handle:
        yield handle


def write_atomic(
    path: Path | str,
    content: str | bytes,
    *,
    mode: int | None = None,
    exclusive: bool = False,
    encoding: str = "utf-8",
) -> Path:
    """Write ``content`` to ``path`` whole or not at all (see the module's docstring); returns ``path``.

    ``mode``: the file's permissions (default: those of the file replaced, or as a new file gets under
    the umask). ``exclusive``:
    refuse (``OutputExists``) if ``path`` exists, checked again as the file takes its name (a hard
    link, which fails on an existing name, as O_CREAT|O_EXCL would) so a file made meanwhile is not
    replaced either.
    """
    path = Path(path)
    data = content.encode(encoding) if isinstance(content, str) else content
    return _replace(path, lambda handle: handle.write(data), mode=mode, exclusive=exclusive)


def copy_atomic(source: Path | str, path: Path | str, *, mode: int | None = None) -> Path:
    """Copy ``source`` to ``path`` atomically (see ``write_atomic``)."""
    source, path = Path(source), Path(path)

    def copy(handle) -> None:
        with source.open("rb") as reading:
            shutil.copyfileobj(reading, handle, 1 << 20)

    return _replace(path, copy, mode=mode, exclusive=False)


def _replace(path: Path, fill, *, mode: int | None, exclusive: bool) -> Path:
    if exclusive and path.exists():
        raise OutputExists(path)
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        # mkstemp makes the file 0600: give it the mode asked for, else the mode of the file it replaces
        # (an operator may have narrowed it), else what a new file would get.
        os.fchmod(descriptor, mode if mode is not None else _mode_of(path))
        with os.fdopen(descriptor, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(temporary, path)  # fails if the file appeared meanwhile: never replaced
            except FileExistsError:
                raise OutputExists(path) from None
            os.unlink(temporary)
        else:
            os.replace(temporary, path)
        temporary = None
    except OutputExists:
        raise
    except OSError as exc:
        raise OutputNotWritten(path, exc) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return path


def _mode_of(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux): setting it to
    read it would race with other threads creating files."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def safe_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text that could start a formula gets a leading ``'``;
    numbers typed as numbers, and everything else, are left as they are."""
    if isinstance(value, bool | int | float | Decimal) or value is None:
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The CSV the project writes for people: a header row, then ``rows``, every text cell made safe
    (``safe_cell``); ``None`` is an empty cell."""
    buffer = io.StringIO()
    # RFC 4180's CRLF: Python quotes a cell holding a character of the line terminator, so with CRLF
    # a carriage return inside a cell is quoted too (with "\n" alone it would end the row early).
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return buffer.getvalue()


def write_csv(path: Path | str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """``csv_text`` written atomically to ``path``."""
    return write_atomic(path, csv_text(header, rows))
