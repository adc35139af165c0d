"""XLSX workbooks as CSV: many councils' exports are spreadsheets. Read-only and streaming (openpyxl)."""

from __future__ import annotations

import csv
import math
import re
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from ingestion.contract import TableContract
from ingestion.copy_loader import RefusedFile, normalise_header, packed_file_problem
from ingestion.value_formats import DEFAULT, ValueFormats

#: A spreadsheet holds numbers as doubles: 15 significant digits are exact, more are not.
EXACT_DIGITS = 15


class InexactCell(ValueError):
    """A number cell that cannot be the value delivered: more digits than a spreadsheet keeps."""


def cell_text(
    value: object,
    number_format: str | None,
    *,
    name: str = "",
    type_: str | None = None,
    formats: ValueFormats = DEFAULT,
) -> str:
    """An XLSX cell as the text a CSV would carry, read as its column's contract type (``type_``; None
    when the column is not known): an identifier stays the digits shown (``000123`` with format
    ``000000``), a date keeps its time and is written in the source's declared form, 92 % stays 92 (0.92
    formatted as a percentage is 92), and a number is written in plain digits with the 15 significant
    digits a spreadsheet keeps. A whole number too long to be held exactly raises ``InexactCell``."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return formats.write_date(name, value, type_ or "timestamp")
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        if isinstance(value, float) and value.is_integer() and abs(value) >= 10**EXACT_DIGITS:
            # 12345678901234567890 comes back as 12345678901234567168: not the id (or count) delivered.
            raise InexactCell(
                f"the number {value!r} has more digits than a spreadsheet holds exactly "
                f"({EXACT_DIGITS}); format the column as Text in the workbook"
            )
        number = Decimal(value) if isinstance(value, int) else Decimal(format(value, f".{EXACT_DIGITS}g"))
        fmt = (number_format or "").strip()
        if "%" in fmt:
            number *= 100
        elif type_ in (None, "text") and re.fullmatch(r"0+", fmt) and number == number.to_integral_value():
            return str(int(number)).zfill(len(fmt))  # 000123: an identifier shown with leading zeros
        text = format(number.normalize(), "f")
        return text
    return str(value)


def refuse_packed(path: Path) -> None:
    """Refuse a compressed, encrypted or old-format file by what it is, before trying to read it."""
    with path.open("rb") as handle:
        problem = packed_file_problem(handle.read(64 * 1024))
    if problem:
        raise RefusedFile(path, problem)


def xlsx_to_csv(
    path: Path,
    out: Path,
    sheet: str | None = None,
    *,
    contract: TableContract | None = None,
    renames: dict[str, str] | None = None,
    formats: ValueFormats = DEFAULT,
) -> Path:
    """Write the workbook's sheet (its only sheet, or the one named) as a UTF-8 CSV at ``out``, each
    cell read as the type of the ``contract`` column its header names (through ``renames``), never
    through a float: a text id stays text. A number cell that cannot be the value delivered refuses
    the file, naming the cell."""
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
        types = {c.name: c.type for c in contract.columns} if contract else {}
        columns: list[tuple[str, str | None]] | None = None  # (contract name, type) by position
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for row in workbook[sheet or names[0]].iter_rows():
                if columns is None:  # the header: cells as they are
                    cells = [cell_text(c.value, None) for c in row]
                    if any(cells):
                        names_ = [
                            (renames or {}).get(normalise_header(c), normalise_header(c)) for c in cells
                        ]
                        columns = [(n, types.get(n)) for n in names_]
                        writer.writerow(cells)
                    continue
                cells = []
                for position, cell in enumerate(row):
                    name, type_ = columns[position] if position < len(columns) else ("", None)
                    try:
                        cells.append(
                            cell_text(
                                cell.value,
                                getattr(cell, "number_format", None),
                                name=name,
                                type_=type_,
                                formats=formats,
                            )
                        )
                    except InexactCell as exc:
                        where = getattr(cell, "coordinate", f"column {position + 1}")
                        raise RefusedFile(path, f"cell {where} ({name}): {exc}") from None
                if any(cells):
                    writer.writerow(cells)
    finally:
        workbook.close()
    return out
