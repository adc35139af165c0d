"""Small builders of bad deliveries, each starting from the bundled good samples and breaking one thing.

Every builder writes into a folder of its own and says where the bad input is; nothing here loads.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASE_SAMPLE = PROJECT_DIR / "ingestion" / "case_system" / "sample"
OMBUDSMAN_SAMPLE = PROJECT_DIR / "ingestion" / "ombudsman" / "sample"
REFERENCE_DATA = PROJECT_DIR / "ingestion" / "reference" / "data"

#: Good rows for the case-system tables the bundled extract does not carry (contract column names).
GOOD_ROWS: dict[str, list[dict[str, str]]] = {
    "payments": [
        {
            "payment_id": "PAY-1",
            "representation_id": "CFS-00001",
            "payment_date": "2023-10-02",
            "amount": "250.00",
            "payment_type": "time_and_trouble",
            "updated_at": "2023-10-02T00:00:00Z",
        }
    ],
    "remedies": [
        {
            "remedy_id": "REM-1",
            "representation_id": "CFS-00001",
            "stage": "1",
            "remedy_type": "apology",
            "recommended_by": "council",
            "agreed_date": "2023-09-28",
            "due_date": "2023-10-12",
            "completed_date": "2023-10-05",
            "updated_at": "2023-10-05T00:00:00Z",
        }
    ],
    "ombudsman_cases": [
        {
            "ombudsman_reference": "23 011 003",
            "representation_id": "CFS-00002",
            "received_date": "2023-09-01",
            "decision_date": "2024-01-12",
            "decision": "upheld",
            "updated_at": "2024-01-12T00:00:00Z",
        }
    ],
    "service_areas": [
        {
            "service_area_code": "ENV-HWY",
            "service_area_name": "Highways",
            "directorate": "Environment",
            "valid_from": "2020-04-01",
            "valid_to": "",
            "updated_at": "2020-04-01T00:00:00Z",
        }
    ],
    "complainants": [
        {
            "complainant_id": "C-1",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1960-02-01",
            "updated_at": "2024-01-01T00:00:00Z",
        }
    ],
}


@dataclass
class Delivery:
    """What a builder made: the bad file (or command) and what to look for afterwards.

    ``file``: the delivered file the expectation is about (``name``: how the ledger names a delivery
    that is not a file, such as a source database's table). ``table``: the contract table it is for.
    ``raw``: cells of the bad row as the quarantine must keep them. ``config``: a source configuration
    (YAML) when the delivery needs one; ``args``/``env``: a command line and its environment.
    """

    file: Path | None = None
    name: str | None = None
    table: str | None = None
    raw: dict[str, str] = field(default_factory=dict)
    config: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ledger_name(self) -> str | None:
        return self.name or (str(self.file) if self.file else None)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def csv_text(header: list[str], rows: list[list[str]], *, newline: str = "\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def good_case_rows(table: str, count: int = 2) -> tuple[list[str], list[dict[str, str]]]:
    """The first ``count`` clean rows of a case-system table: from the bundled extract, or GOOD_ROWS."""
    sample = CASE_SAMPLE / f"{table}.csv"
    if sample.exists():
        header, rows = read_csv(sample)
        return header, [dict(zip(header, r, strict=True)) for r in rows[:count]]
    rows = GOOD_ROWS[table]
    return list(rows[0]), [dict(r) for r in rows[:count]]


def case_file(
    folder: Path, table: str, bad: dict[str, str] | list[dict[str, str]], *, base: int = 2
) -> Delivery:
    """``<table>.csv``: ``base`` good rows, then the bad row(s): a good row with the given cells changed
    (a new key unless the change sets it). The quarantine must keep the bad row's changed cells."""
    header, good = good_case_rows(table, base)
    template = good[0]
    bad_rows = []
    for number, change in enumerate(bad if isinstance(bad, list) else [bad], start=1):
        row = dict(template)
        key = next(iter(header))
        row[key] = f"{row[key]}-BAD{number}"
        if table == "stages":
            row["representation_id"] = f"CFS-BAD{number}"
        row.update(change)
        bad_rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{table}.csv"
    rows = [[r.get(h, "") for h in header] for r in [*good, *bad_rows]]
    path.write_text(csv_text(header, rows))
    changed = bad if isinstance(bad, dict) else bad[0]
    return Delivery(file=path, table=table, raw=dict(changed))


def write(folder: Path, name: str, content: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def sample_text(path: Path, rows: int | None = None) -> str:
    """A bundled sample's header and its first ``rows`` rows, as text."""
    header, body = read_csv(path)
    return csv_text(header, body if rows is None else body[:rows])


def gzip_of(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), mtime=0)


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def truncated_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook cut off half-way, as an interrupted download leaves it: the zip's directory is gone."""
    whole = xlsx_bytes(sheets)
    assert zipfile.is_zipfile(io.BytesIO(whole))
    return whole[: len(whole) // 2]


def encrypted_workbook() -> bytes:
    """The container Excel writes for a password-protected workbook: an OLE2 compound file holding the
    streams ``EncryptionInfo`` and ``EncryptedPackage`` (not a zip). Structure only; nothing to decrypt."""
    magic = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header = magic + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + b"\x00" * (512 - 32)
    entries = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + b"\x00" * 64
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage")
    )
    return header + entries.ljust(512, b"\x00") + b"\x00" * 1024
