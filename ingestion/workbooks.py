"""XLSX workbooks as CSV: many councils' exports are spreadsheets. Read-only and streaming (openpyxl)."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from ingestion.copy_loader import RefusedFile, packed_file_problem


def cell_text(value: object, number_format: str | None) -> str:
    """An XLSX cell as the text a CSV would carry: 92 % stays 92, 0.92 formatted as a percentage is 92."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if number_format and "%" in number_format:
            value = round(value * 100, 6)
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def refuse_packed(path: Path) -> None:
    """Refuse a compressed, encrypted or old-format file by what it is, before trying to read it."""
    with path.open("rb") as handle:
        problem = packed_file_problem(handle.read(64 * 1024))
    if problem:
        raise RefusedFile(path, problem)


def xlsx_to_csv(path: Path, out: Path, sheet: str | None = None) -> Path:
    """Write the workbook's sheet (its only sheet, or the one named) as a UTF-8 CSV at ``out``."""
    from openpyxl import load_workbook  # imported only when a workbook arrives

    refuse_packed(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many kinds for a damaged file
        raise RefusedFile(path, f"the file is not a readable XLSX workbook ({exc})") from None
    try:
        names = workbook.sheetnames
        if sheet is None and len(names) != 1:
            raise RefusedFile(
                path,
                f"the workbook has {len(names)} sheets ({', '.join(map(repr, names))}); name one with `sheet:`",
            )
        if sheet is not None and sheet not in names:
            raise RefusedFile(
                path, f"the workbook has no sheet {sheet!r} (it has {', '.join(map(repr, names))})"
            )
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for row in workbook[sheet or names[0]].iter_rows():
                cells = [cell_text(c.value, getattr(c, "number_format", None)) for c in row]
                if any(cells):
                    writer.writerow(cells)
    finally:
        workbook.close()
    return out
