"""Reports people look at: the monthly BMMR pack, the statutory annual report and the Ombudsman
benchmark, each one self-contained HTML page (and, for the annual report, a CSV of its tables).

Each report module gathers its figures from the warehouse (the BMMR pack from the *published* figures
only), applies small-number suppression when the output is public, and renders the page through
``page``; ``write_reports`` writes all three, as the pipeline's report step does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from complaints_warehouse.errors import StepFailed
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse.database import Connection

REPORTS = ("bmmr", "annual", "ombudsman")


class ReportUnavailable(StepFailed, RuntimeError):
    """A report cannot be written yet (e.g. no BMMR month published); the message says why and what to do."""


def rows(conn, query, params=None) -> list[dict]:
    """Run ``query`` and return its rows as dicts."""
    cur = conn.execute(query, params)
    names = [c.name for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def reports_dir(settings: Settings) -> Path:
    from complaints_warehouse.outputs import OutputNotWritten

    folder = settings.outputs_dir / "reports"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputNotWritten(folder, exc) from None
    return folder


def write_reports(
    settings: Settings,
    target: Connection,
    *,
    which: tuple[str, ...] = REPORTS,
    public: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, str]:
    """Write each report in ``which`` with its default period (the latest published BMMR month, the
    latest complete financial year); returns {report name: path}. A report that cannot be written yet
    is skipped with its reason echoed, so the others are still written."""
    from complaints_warehouse.reports import annual_report, bmmr_pack, ombudsman_benchmark

    writers: dict[str, Callable[[], list[Path]]] = {
        "bmmr": lambda: bmmr_pack.write(settings, target, public=public),
        "annual": lambda: annual_report.write(settings, target, public=public),
        "ombudsman": lambda: ombudsman_benchmark.write(settings, target, public=public),
    }
    names = {"bmmr": "BMMR pack", "annual": "annual report", "ombudsman": "Ombudsman benchmark"}
    written: dict[str, str] = {}
    for key in which:
        try:
            paths = writers[key]()
        except ReportUnavailable as exc:
            echo(f"  {names[key]}: not written: {exc}")
            continue
        for path in paths:
            label = names[key] + (" (CSV)" if path.suffix == ".csv" else "")
            written[label] = str(path)
            echo(f"  {label}: {path}")
    return written


def add_months(value: date, months: int) -> date:
    index = value.year * 12 + value.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
