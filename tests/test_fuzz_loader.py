"""A standing adversary: generated case-system files driven through the real loader.

Hypothesis writes files the way a hostile, sloppy or old export would (encodings, line endings, quoting,
delimiters, dates and numbers in every form the bad-input catalogue knows, truncation, duplicate,
reordered and unknown headers) into a source system's landing folder, and the real load step (the same
function both drivers call) loads them into a real PostgreSQL. Whatever the file, these must hold:

- no traceback: the load either finishes or refuses the file with ``RefusedFile`` naming it;
- a refused file leaves nothing behind (no raw row, no quarantined row) and is in the ledger as refused;
- a loaded batch reconciles: rows in = rows loaded + rows quarantined, and what the raw table and the
  quarantine hold for the batch is exactly that;
- nothing stored is anything but finite and plain: no infinite, BC or out-of-range date or timestamp, no
  NaN or infinite number, no negative money.

``make test`` runs a small example budget; ``make fuzz`` (``HYPOTHESIS_PROFILE=fuzz``) a large one.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from bad_inputs import builders as b
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints_warehouse import load, pipeline
from complaints_warehouse.warehouse import database
from ingestion.copy_loader import RefusedFile
from ingestion.source_config import load_source_config

settings.register_profile(
    "default",
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
settings.register_profile("fuzz", max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TABLES = ("stages", "payments")

#: Values a cell may be replaced with: every form the catalogue's date, number and text classes take.
HOSTILE = (
    # dates, plain and not
    "2023-04-03",
    "03/04/2023",
    "13/04/2023",
    "2023-02-30",
    "2023-4-1",
    "+2023-04-01",
    "2023/04/03",
    "20230403",
    "3 April 2023",
    "45017",
    "45017.5",
    "epoch",
    "infinity",
    "-infinity",
    "today",
    "yesterday",
    "tomorrow",
    "now",
    "allballs",
    "J2460000",
    "2023-04-03 BC",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2023-04-03T24:00:00",
    "2023-04-03T23:59:60Z",
    "2023-04-03T10:00:00+01:00",
    "2023-04-03 10:00",
    "２０２３-０４-０３",
    # numbers, plain and not
    "0",
    "-0",
    "250.00",
    "-1",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1e309",
    "1e3",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    " 1,000 ",
    "£250",
    "250 GBP",
    "٣",
    "1" * 40,
    ".5",
    "5.",
    # text that attacks a spreadsheet, the CSV or the database
    '=HYPERLINK("http://x")',
    "+1",
    "@SUM(A1)",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\ronly",
    "\t tab",
    "'; drop table x; --",
    "\\N",
    "NULL",
    "",
    " ",
    "é",
    "\u200b",
    "\ufeffbom",
)


def _rows(table: str) -> tuple[list[str], list[dict[str, str]]]:
    if table == "payments":
        header, (row,) = b.good_case_rows("payments", 1)
        return header, [dict(row, payment_id=f"PAY-{n}") for n in range(1, 5)]
    return b.good_case_rows(table, 4)


@st.composite
def deliveries(draw) -> tuple[str, bytes]:
    """(table, the file's bytes)."""
    table = draw(st.sampled_from(TABLES))
    header, rows = _rows(table)
    rows = [dict(r) for r in rows]
    for row in rows:  # change a few cells to hostile values
        for column in draw(st.lists(st.sampled_from(header), max_size=3, unique=True)):
            row[column] = draw(st.sampled_from(HOSTILE))
    columns = list(header)
    if draw(st.booleans()):
        columns = draw(st.permutations(columns))
    shape = draw(st.sampled_from(("plain", "duplicate", "unknown", "missing", "renamed")))
    if shape == "duplicate":
        columns = [*columns, draw(st.sampled_from(columns))]
    elif shape == "unknown":
        columns = [*columns, draw(st.sampled_from(("notes", "Complainant Name", "email")))]
    elif shape == "missing":
        columns.remove(draw(st.sampled_from(columns)))
    elif shape == "renamed":
        columns = [c.upper().replace("_", " ") if draw(st.booleans()) else c for c in columns]
    delimiter = draw(st.sampled_from((",", ",", ",", ";", "\t")))
    newline = draw(st.sampled_from(("\n", "\r\n", "\r")))
    quoting = draw(st.sampled_from((csv.QUOTE_MINIMAL, csv.QUOTE_ALL)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c.lower().replace(" ", "_"), "x") for c in columns])
    text = buffer.getvalue() + newline * draw(st.integers(0, 2))
    encoding = draw(st.sampled_from(("utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16")))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 4)) == 0:  # an interrupted transfer
        data = data[: draw(st.integers(0, len(data)))]
    return table, data


@pytest.fixture(scope="module")
def shared():
    from complaints_warehouse.settings import load_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_fuzz_{uuid.uuid4().hex[:8]}")
        settings_ = load_settings()
        yield settings_, pipeline.prepare(settings_)


def query(target, text: str, params=None) -> list[tuple]:
    with database.connect(target) as conn:
        return conn.execute(text, params).fetchall()


def contract_of(table: str):
    return next(t for t in load.SOURCES["case_system"] if t.name == table)


def not_plain(contract) -> str:
    """SQL true for a raw row holding anything but a finite, plain value in a typed column."""
    tests = []
    for name, sql_type in contract.stored_columns():
        if sql_type in ("date", "timestamptz"):
            tests.append(
                f"({name} is not null and (not isfinite({name}) or extract(year from {name}) not between 1 and 9999))"
            )
        elif sql_type in ("numeric", "bigint"):
            tests.append(f"({name} is not null and not ({name}::numeric between -1e15 and 1e15))")
    column = {c.name: c for c in contract.columns}
    tests += [
        f"({c.name} < 0)" for c in column.values() if c.type in ("numeric", "integer") and c.min_value == 0
    ]
    return " or ".join(tests) or "false"


_names = (f"fuzz_{n}" for n in itertools.count())


@given(delivery=deliveries())
def test_any_file_loads_whole_or_is_refused_whole(shared, delivery):
    settings_, target = shared
    table, data = delivery
    source_system = next(_names)
    folder = Path(tempfile.mkdtemp(prefix="cw-fuzz-"))
    try:
        path = folder / "landing" / f"{table}.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        config_path = folder / "source.yml"
        config_path.write_text(
            f"source_system: {source_system}\ncontract: case_system\nadapter: files\n"
            f"landing: {path.parent}\ntables:\n  {table}: {{from: {path.name}}}\n"
        )
        config = load_source_config(config_path)
        contract = contract_of(table)
        try:
            results = pipeline.step_load_source_system(settings_, target, config, echo=lambda _: None)
        except RefusedFile as refused:
            assert str(refused).startswith(f"Refused {path}: ") and refused.problem
            ledger = query(
                target,
                "select batch_id, status from audit.load_batches where source_system = %s",
                (source_system,),
            )
            assert [status for _, status in ledger] == ["refused"], ledger
            batches = [batch for batch, _ in ledger]
            held = query(
                target,
                f"select (select count(*) from {contract.raw_schema}.{contract.name} where _batch_id = any(%(b)s)),"
                f" (select count(*) from {contract.quarantine_table} where batch_id = any(%(b)s))",
                {"b": batches},
            )
            assert held == [(0, 0)], "a refused file leaves nothing behind"
            return
        assert len(results) == 1, results
        batch = results[0]
        assert batch["status"] == "loaded", batch
        assert batch["rows_in"] == batch["rows_loaded"] + batch["rows_quarantined"], batch
        raw, quarantined, odd = query(
            target,
            f"select (select count(*) from {contract.raw_schema}.{contract.name} where _batch_id = %(b)s "
            f"and not _is_deleted), (select count(*) from {contract.quarantine_table} where batch_id = %(b)s), "
            f"(select count(*) from {contract.raw_schema}.{contract.name} where _batch_id = %(b)s "
            f"and ({not_plain(contract)}))",
            {"b": batch["batch_id"]},
        )[0]
        assert raw == batch["rows_loaded"] - batch["rows_unchanged"], batch
        assert quarantined == batch["rows_quarantined"], batch
        assert odd == 0, f"stored a value that is not finite and plain: {data!r}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
