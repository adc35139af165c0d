"""Read a published Ombudsman spreadsheet (CSV or XLSX) and write the warehouse's canonical CSV.

The Ombudsman's headers and labels change between years. A versioned mapping file
(``mappings/<table>.yml``) lists every accepted variant; this module maps the published layout through
it and writes the canonical CSV that ``ingestion.copy_loader.load_file`` then checks and loads.

A published column the mapping does not know is kept, never a reason to refuse the file: it is written
under its normalised header ("Notes" -> ``unmapped_notes``) and the loader keeps it in ``_extra`` and
reports it in the batch's message. It refuses a whole file (``RefusedFile``) when the layout cannot be
read without guessing: an unmapped label (named in the message), two header rows, a totals row, a
workbook with several sheets none of which is the statistics. The layout of the national file as
published is read as it is: title lines above the header (one cell each) and footnotes under the councils
(one cell each, after the last council) are not data and are set aside, logged with their rows; a year
written only in the title or the sheet's name ("Annual review data 2023-24") is the year of every row;
a percentage column written as fractions (0.79) is read as percent (79). Row-level problems (a percentage above 100, more upheld than
investigated, an unknown authority) are left for the contract's checks, which quarantine the row.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from ingestion.contract import TableContract
from ingestion.copy_loader import RefusedFile, normalise_header
from ingestion.identifiers import checked_identifier
from ingestion.workbooks import InexactCell, refuse_packed
from ingestion.workbooks import cell_text as _cell_text

LOG = logging.getLogger(__name__)
MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"
#: Written into every row: which published row it came from, and which mapping read it.
SOURCE_ROW, MAPPING_VERSION = "source_row", "mapping_version"
XLSX_MAGIC = b"PK\x03\x04"
#: A published column the mapping does not know is written as ``unmapped_<its normalised header>``.
UNMAPPED_PREFIX = "unmapped_"


@dataclass(frozen=True)
class Mapping:
    """One table's header and label vocabulary, as read from its versioned YAML file."""

    table: str
    version: int
    headers: dict[str, str]  # normalised variant -> canonical column
    labels: dict[str, dict[str, str]]  # canonical column -> normalised variant -> canonical label
    sheet_names: frozenset[str]
    totals_labels: frozenset[str]
    no_value: frozenset[str]
    path: Path

    @classmethod
    def load(cls, table: str, folder: Path = MAPPINGS_DIR) -> Mapping:
        """Read ``folder/<table>.yml``; a variant that means two things is an error in the mapping."""
        path = folder / f"{table}.yml"
        spec = yaml.safe_load(path.read_text())
        # Canonical names become column names of the landing table: plain SQL names only.
        for canonical in (*spec["headers"], *spec.get("labels", {})):
            checked_identifier(canonical, "canonical column", f"Ombudsman mapping {path}")
        return cls(
            table=table,
            version=int(spec["version"]),
            headers=_invert(spec["headers"], f"{path}: header"),
            labels={
                column: _invert(labels, f"{path}: {column} label")
                for column, labels in spec.get("labels", {}).items()
            },
            sheet_names=frozenset(normalise_header(s) for s in spec.get("sheet_names", [])),
            totals_labels=frozenset(normalise_header(s) for s in spec.get("totals_labels", [])),
            no_value=frozenset(str(s).strip().lower() for s in spec.get("no_value", [])),
            path=path,
        )


@dataclass
class Layout:
    """What was read around the table itself: title lines, footnotes, the sheet, an implied year."""

    sheet: str | None = None
    titles: list[tuple[int, str]] = field(default_factory=list)
    footnotes: list[tuple[int, str]] = field(default_factory=list)
    implied: dict[str, str] = field(default_factory=dict)
    fractions: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.titles:
            parts.append("title row(s) " + ", ".join(f"{n} ({t!r})" for n, t in self.titles))
        if self.footnotes:
            parts.append("footnote row(s) " + ", ".join(f"{n} ({t[:60]!r})" for n, t in self.footnotes))
        if self.implied:
            parts.append(
                "; ".join(f"{c} {v!r} from the title or sheet name" for c, v in self.implied.items())
            )
        if self.fractions:
            parts.append("percentages written as fractions (x100): " + ", ".join(self.fractions))
        return "; ".join(parts)


#: Title lines above the header: at most this many rows of one cell each.
MAX_TITLE_ROWS = 10
_YEAR_IN_TEXT = re.compile(r"(?<!\d)(\d{4})\s*(?:/|-|–|to)\s*(\d{2}|\d{4})(?!\d)")


def _single_cell(cells: list[str]) -> str | None:
    filled = [c for c in cells if c]
    return filled[0] if len(filled) == 1 else None


def _implied_year(texts: list[str]) -> str | None:
    """The one financial year the title lines and sheet name name, if exactly one (``2023-24``)."""
    years = set()
    for text in texts:
        for start, end in _YEAR_IN_TEXT.findall(text or ""):
            if int(end[-2:]) == (int(start) + 1) % 100:
                years.add(f"{start}/{end[-2:]}")
    return years.pop() if len(years) == 1 else None


def _invert(canonical_to_variants: dict[str, list[str]], what: str) -> dict[str, str]:
    inverted: dict[str, str] = {}
    for canonical, variants in canonical_to_variants.items():
        for variant in [canonical, *variants]:
            key = normalise_header(str(variant))
            if inverted.get(key, canonical) != canonical:
                raise ValueError(f"{what} variant {variant!r} maps to both {inverted[key]} and {canonical}")
            inverted[key] = canonical
    return inverted


def normalise_financial_year(value: str) -> str:
    """``2023-24``, ``2023/2024``, ``2023 to 2024`` -> ``2023/24``; anything else is returned as it is."""
    match = re.fullmatch(r"\s*(\d{4})\s*(?:/|-|–|to)\s*(\d{2}|\d{4})\s*", value)
    if not match:
        return value
    start, end = match.groups()
    return f"{start}/{end[-2:]}"


def normalise_reference(value: str) -> str:
    """``22001239``, ``22-001-239``, ``22 001 239`` -> ``22 001 239``; anything else as it is."""
    digits = re.sub(r"[\s\-/]", "", value)
    return f"{digits[:2]} {digits[2:5]} {digits[5:]}" if re.fullmatch(r"\d{8}", digits) else value


def normalise_date(value: str) -> str:
    """The UK's ``12/03/2024`` -> ``2024-03-12``; ISO dates and anything else as they are."""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    return f"{match[3]}-{int(match[2]):02d}-{int(match[1]):02d}" if match else value


def _xlsx_rows(path: Path, mapping: Mapping, layout: Layout | None = None) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # imported only when a workbook arrives

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many kinds for a damaged file
        raise RefusedFile(path, f"the file is not a readable XLSX workbook ({exc})") from None
    try:
        sheet = workbook[_choose_sheet(path, workbook.sheetnames, mapping)]
        if layout is not None:
            layout.sheet = sheet.title
        for row in sheet.iter_rows():
            try:
                cells = [_cell_text(c.value, getattr(c, "number_format", None)) for c in row]
            except InexactCell as exc:
                raise RefusedFile(path, f"row {row[0].row if row else '?'}: {exc}") from None
            yield (row[0].row if row and hasattr(row[0], "row") else 0), cells
    finally:
        workbook.close()


def _choose_sheet(path: Path, names: list[str], mapping: Mapping) -> str:
    if len(names) == 1:
        return names[0]
    matching = [n for n in names if normalise_header(n) in mapping.sheet_names]
    if len(matching) == 1:
        return matching[0]
    raise RefusedFile(
        path,
        f"the workbook has {len(names)} sheets ({', '.join(repr(n) for n in names)}) and "
        f"{'none' if not matching else 'several'} of them is named as the statistics sheet "
        f"(accepted names in {mapping.path.name}: {', '.join(sorted(mapping.sheet_names))})",
    )


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from enumerate(csv.reader(handle), start=1)
    except UnicodeDecodeError:
        raise RefusedFile(path, "the file is not UTF-8 text") from None


def published_rows(
    path: Path, mapping: Mapping, layout: Layout | None = None
) -> Iterator[tuple[int, list[str]]]:
    """Every non-blank row of the published file with its row number, as text cells."""
    if not path.is_file():
        raise RefusedFile(path, "the file does not exist")
    with path.open("rb") as handle:
        is_xlsx = handle.read(4) == XLSX_MAGIC
    refuse_packed(path)
    if path.suffix.lower() in {".xlsx", ".xlsm"} and not is_xlsx:
        raise RefusedFile(path, "the file is named .xlsx but is not an XLSX workbook")
    rows = _xlsx_rows(path, mapping, layout) if is_xlsx else _csv_rows(path)
    for number, cells in rows:
        cells = [c.strip() for c in cells]
        if any(cells):
            yield number, cells


def normalise_file(
    path: Path, contract: TableContract, out_dir: Path, mapping: Mapping | None = None
) -> Path:
    """Write ``out_dir/<table>.csv`` in the canonical layout of ``contract``; refuse what cannot be mapped."""
    path = Path(path)
    mapping = mapping or Mapping.load(contract.name)
    layout = Layout()
    rows = published_rows(path, mapping, layout)
    first = next(rows, None)
    if first is None:
        raise RefusedFile(path, "the file is empty (expected a header row)")
    # Title lines above the header (one cell each: "Annual review data 2023-24"), as published.
    while (title := _single_cell(first[1])) is not None and len(layout.titles) < MAX_TITLE_ROWS:
        layout.titles.append((first[0], title))
        first = next(rows, None)
        if first is None:
            raise RefusedFile(
                path, f"the file has no header row under its title(s) (row {layout.titles[0][0]})"
            )
    header_row, header = first
    year = _implied_year([t for _, t in layout.titles] + [layout.sheet or ""])
    columns = _map_header(path, header, mapping, contract, implied={"financial_year": year} if year else {})
    implied = {c: year for c in contract.required_columns if c == "financial_year" and c not in columns}
    layout.implied = {c: v for c, v in implied.items() if v}
    unmapped = {c for c in columns if c and c.startswith(UNMAPPED_PREFIX)}
    numeric = {c.name for c in contract.columns if c.type in {"integer", "numeric"}}
    dates = {c.name for c in contract.columns if c.type == "date"}

    body = list(rows)
    # Footnotes under the councils: the trailing rows of one cell each ("Source: ...", "* ...").
    while body and (note := _single_cell(body[-1][1])) is not None and len(body) > 1:
        layout.footnotes.insert(0, (body[-1][0], note))
        body.pop()
    records = [
        (number, _map_row(path, number, header_row, cells, columns, mapping, numeric, dates, unmapped))
        for number, cells in body
    ]
    layout.fractions = _fraction_columns(records, contract)
    if layout.describe():
        LOG.info("%s: read as published: %s", path.name, layout.describe())

    named = [c for c in columns if c]
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{contract.name}.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(named + list(layout.implied) + [SOURCE_ROW, MAPPING_VERSION])
        for number, record in records:
            for column in layout.fractions:
                if record.get(column):
                    record[column] = format((Decimal(record[column]) * 100).normalize(), "f")
            writer.writerow(
                [record[c] for c in named] + list(layout.implied.values()) + [number, mapping.version]
            )
    return out


def _fraction_columns(records: list[tuple[int, dict[str, str]]], contract: TableContract) -> list[str]:
    """Percentage columns written as fractions (0.79 for 79 %): every value between 0 and 1, one not whole.
    The Ombudsman's rates are whole percents, so 0.79 can only be a fraction."""
    found = []
    for column in (c.name for c in contract.columns if c.name.endswith("_pct")):
        values = []
        for _, record in records:
            text = record.get(column, "")
            if not text:
                continue
            try:
                values.append(Decimal(text))
            except InvalidOperation:
                values = []
                break
        if values and all(0 <= v <= 1 for v in values) and any(v != v.to_integral_value() for v in values):
            found.append(column)
    return found


def _map_header(
    path: Path,
    header: list[str],
    mapping: Mapping,
    contract: TableContract,
    implied: dict[str, str] | None = None,
) -> list[str | None]:
    columns: list[str | None] = []
    for position, name in enumerate(header, start=1):
        if not name:
            columns.append(None)  # an unnamed column may only be empty: checked row by row
            continue
        canonical = mapping.headers.get(normalise_header(name))
        if canonical is None:
            # Kept as published under its own name, loaded into _extra and reported; never guessed.
            kept = f"{UNMAPPED_PREFIX}{normalise_header(name) or f'column_{position}'}"
            canonical = kept if kept not in columns else f"{kept}_{position}"
        columns.append(canonical)
    named = [c for c in columns if c]
    doubled = sorted({c for c in named if named.count(c) > 1})
    if doubled:
        raise RefusedFile(path, f"several headers map to the same column: {', '.join(doubled)}")
    # A column the title or sheet name gives (the year of a one-year national file) is not missing.
    missing = [c for c in contract.required_columns if c not in named and c not in (implied or {})]
    if missing:
        unknown = [
            f"{name!r} (column {position})"
            for position, (name, column) in enumerate(zip(header, columns, strict=True), start=1)
            if column and column.startswith(UNMAPPED_PREFIX)
        ]
        also = (
            f"; unmapped header {', '.join(unknown)}: not a variant known to {mapping.path.name} "
            f"(version {mapping.version}), a title or grouped header row above the header?"
            if unknown
            else ""
        )
        raise RefusedFile(
            path, f"no column for {', '.join(missing)} (found headers: {', '.join(header)}){also}"
        )
    return columns


def _map_row(
    path: Path,
    number: int,
    header_row: int,
    cells: list[str],
    columns: list[str | None],
    mapping: Mapping,
    numeric: set[str],
    dates: set[str],
    unmapped: set[str] = frozenset(),
) -> dict[str, str]:
    cells = cells + [""] * (len(columns) - len(cells))
    if len(cells) > len(columns) and any(cells[len(columns) :]):
        raise RefusedFile(path, f"row {number} has values beyond the last header column")
    values = [c for c in cells if c]
    if sum(normalise_header(c) in mapping.headers for c in values) * 2 >= len(values):
        raise RefusedFile(
            path,
            f"two header rows: row {number} repeats the headers of row {header_row} "
            f"(one header row, then one row per council and year)",
        )
    record: dict[str, str] = {}
    for column, cell in zip(columns, cells, strict=False):
        if column is None:
            if cell:
                raise RefusedFile(path, f"row {number} has a value ({cell!r}) in a column with no header")
            continue
        if column in unmapped:
            record[column] = cell  # as published
            continue
        record[column] = _map_value(path, number, column, cell, mapping, numeric, dates)
    authority = record.get("authority_name", "")
    if normalise_header(authority) in mapping.totals_labels:
        raise RefusedFile(
            path,
            f"row {number} is a totals row ({authority!r}): load the councils' rows only, totals are computed",
        )
    return record


def _map_value(
    path: Path, number: int, column: str, cell: str, mapping: Mapping, numeric: set[str], dates: set[str]
) -> str:
    if cell.lower() in mapping.no_value:
        return ""
    if column in mapping.labels:
        label = mapping.labels[column].get(normalise_header(cell))
        if label is None:
            raise RefusedFile(
                path,
                f"unmapped {column} label {cell!r} in row {number}: not a variant known to "
                f"{mapping.path.name} (version {mapping.version})",
            )
        return label
    if column == "financial_year":
        return normalise_financial_year(cell)
    if column == "reference":
        return normalise_reference(cell)
    if column in dates:
        return normalise_date(cell)
    if column in numeric:
        # "1,203" and "92%" are how spreadsheets show numbers; the contract checks what is left.
        return cell.replace(",", "").removesuffix("%").strip()
    return cell
