"""The COPY loader against a real PostgreSQL: good rows loaded, bad rows quarantined, bad files refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from complaints_warehouse.warehouse import database
from ingestion.case_system.contract import REPRESENTATIONS, STAGES_TABLE
from ingestion.copy_loader import RefusedFile, load_file

HEADER = (
    "representation_id,representation_type,procedure,received_date,channel,service_area_code,"
    "service_area_name,directorate,risk_level,joint_with_nhs,status,closed_date,updated_at"
)
GOOD = "R1,complaint,corporate,2024-01-10,web,ENV-WST,Waste,Environment,,false,closed,2024-01-20,2024-01-20T10:00:00Z"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def load(warehouse, contract, path, **kwargs):
    with database.connect(warehouse, autocommit=True) as conn:
        return load_file(conn, contract, path, **kwargs)


def reconciles(sql, result) -> None:
    """rows in = rows loaded + rows quarantined, in the ledger and in the tables themselves."""
    assert result.rows_in == result.rows_loaded + result.rows_quarantined
    raw = sql(
        f"select count(*) from raw_case_system.{result.table} where _batch_id = %s", (result.batch_id,)
    )[0][0]
    kept = sql("select count(*) from audit.quarantine where batch_id = %s", (result.batch_id,))[0][0]
    ledger = sql(
        "select status, rows_in, rows_loaded, rows_quarantined from audit.load_batches where batch_id = %s",
        (result.batch_id,),
    )[0]
    assert (raw, kept) == (result.rows_loaded, result.rows_quarantined)
    assert ledger == ("loaded", result.rows_in, result.rows_loaded, result.rows_quarantined)


def test_clean_file_loads_every_row_with_its_batch_id(tmp_path, warehouse, sql):
    path = write(tmp_path, "representations.csv", f"{HEADER}\n{GOOD}\n{GOOD.replace('R1', 'R2')}\n")
    result = load(warehouse, REPRESENTATIONS, path)
    assert (result.status, result.rows_in, result.rows_loaded, result.rows_quarantined) == ("loaded", 2, 2, 0)
    assert sql(
        "select representation_id, received_date::text, joint_with_nhs from raw_case_system.representations "
        "order by 1"
    ) == [("R1", "2024-01-10", False), ("R2", "2024-01-10", False)]
    assert sql("select distinct _batch_id from raw_case_system.representations") == [(result.batch_id,)]
    reconciles(sql, result)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (GOOD.replace("R1,", ",", 1), "missing representation_id"),
        (GOOD.replace("2024-01-10", "10th Jan 2024"), "received_date is not a date: 10th Jan 2024"),
        (GOOD.replace("2024-01-10", "2024-02-30"), "received_date is not a date: 2024-02-30"),
        (GOOD.replace(",web,", ",carrier pigeon,"), "unknown channel code: carrier pigeon"),
        (GOOD.replace("2024-01-20,2024", "2024-01-01,2024"), "closed before received"),
        (GOOD.replace(",false,", ",perhaps,"), "joint_with_nhs is not true or false: perhaps"),
        (GOOD.replace("complaint,", "grumble,", 1), "unknown representation_type code: grumble"),
    ],
)
def test_bad_row_is_quarantined_with_reason_and_raw_content(tmp_path, warehouse, sql, bad_row, reason):
    path = write(tmp_path, "representations.csv", f"{HEADER}\n{GOOD.replace('R1', 'R0')}\n{bad_row}\n")
    result = load(warehouse, REPRESENTATIONS, path)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    reasons, raw_row, row_number = sql("select reasons, raw_row, file_row_number from audit.quarantine")[0]
    assert any(r.startswith(reason) for r in reasons), reasons
    assert row_number == 2
    assert ",".join(raw_row[c] or "" for c in HEADER.split(",")) == bad_row
    reconciles(sql, result)


def test_negative_amounts_and_text_in_number_columns_are_quarantined(tmp_path, warehouse, sql):
    header = "representation_id,stage,opened_date,suspended_days,investigation_cost,updated_at"
    rows = [
        "R1,1,2024-01-10,0,120.50,2024-01-11T00:00:00Z",
        "R2,1,2024-01-10,0,-5,2024-01-11T00:00:00Z",
        "R3,1,2024-01-10,three,,2024-01-11T00:00:00Z",
        "R4,7,2024-01-10,0,,2024-01-11T00:00:00Z",
    ]
    path = write(tmp_path, "stages.csv", "\n".join([header, *rows]) + "\n")
    result = load(warehouse, STAGES_TABLE, path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 3)
    reasons = dict(sql("select raw_row->>'representation_id', reasons[1] from audit.quarantine"))
    assert reasons["R2"] == "investigation_cost below 0: -5"
    assert reasons["R3"] == "suspended_days is not a whole number: three"
    assert reasons["R4"].startswith("unknown stage code: 7")
    reconciles(sql, result)


def test_a_row_in_the_wrong_encoding_is_quarantined_and_the_rest_loaded(tmp_path, warehouse, sql):
    latin1_row = GOOD.replace("R1", "R2").replace("Waste", "Caf\xe9 licensing")
    path = write(tmp_path, "representations.csv", f"{HEADER}\n{GOOD}\n{latin1_row}\n".encode("latin-1"))
    result = load(warehouse, REPRESENTATIONS, path)
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    reasons, raw_row, row_number = sql("select reasons, raw_row, file_row_number from audit.quarantine")[0]
    assert reasons == ["not valid UTF-8 text (shown as Latin-1)"]
    assert raw_row["service_area_name"] == "Caf\xe9 licensing" and row_number == 2
    reconciles(sql, result)


def test_duplicate_keys_within_a_batch_are_all_quarantined(tmp_path, warehouse, sql):
    path = write(tmp_path, "representations.csv", f"{HEADER}\n{GOOD}\n{GOOD}\n{GOOD.replace('R1', 'R2')}\n")
    result = load(warehouse, REPRESENTATIONS, path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 2)
    assert sql("select distinct reasons from audit.quarantine") == [
        (["duplicate key in batch (representation_id)"],)
    ]
    reconciles(sql, result)


def test_unknown_extra_columns_are_kept_and_reported(tmp_path, warehouse, sql):
    # Kept in _extra when asked (``keep``); a case-system source's default drops them (tests/test_operations.py).
    path = write(tmp_path, "representations.csv", f"{HEADER},Case Officer\n{GOOD},A. Smith\n")
    result = load(warehouse, REPRESENTATIONS, path, unknown_columns="keep")
    assert result.extra_columns == ["case_officer"]
    assert "case_officer" in result.message
    assert sql("select _extra from raw_case_system.representations") == [({"case_officer": "A. Smith"},)]
    assert sql("select extra_columns from audit.load_batches where batch_id = %s", (result.batch_id,)) == [
        (["case_officer"],)
    ]


def test_same_file_twice_is_loaded_once(tmp_path, warehouse, sql):
    path = write(tmp_path, "representations.csv", f"{HEADER}\n{GOOD}\n")
    first = load(warehouse, REPRESENTATIONS, path)
    second = load(warehouse, REPRESENTATIONS, path)
    assert (first.status, second.status) == ("loaded", "skipped")
    assert f"batch {first.batch_id}" in second.message
    assert sql("select count(*) from raw_case_system.representations") == [(1,)]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "the file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00binary", "the file is binary"),
        (
            "representation_id,received_date\nR1,2024-01-01\n",
            "missing required column(s) representation_type",
        ),
        (
            HEADER.replace("representation_id", "status") + "\n",
            "the header names these columns more than once",
        ),
        (f"{HEADER}\n{GOOD},surplus,fields\n", "the file is not well-formed CSV"),
    ],
)
def test_a_file_that_is_not_the_contract_is_refused_whole(tmp_path, warehouse, sql, content, problem):
    path = write(tmp_path, "representations.csv", content)
    with pytest.raises(RefusedFile) as refused:
        load(warehouse, REPRESENTATIONS, path)
    message = str(refused.value)
    assert str(path) in message and problem in message
    assert sql("select status, message like %s from audit.load_batches", (f"%{problem}%",)) == [
        ("refused", True)
    ]
    assert sql("select count(*) from audit.quarantine") == [(0,)]
    loaded = sql("select to_regclass('raw_case_system.representations') is not null")[0][0]
    if loaded:
        assert sql("select count(*) from raw_case_system.representations") == [(0,)]


def test_a_stage_opened_before_the_stage_before_it_is_quarantined(tmp_path, warehouse, sql):
    header = "representation_id,stage,opened_date,updated_at"
    rows = [
        "R1,1,2024-01-10,2024-02-01T00:00:00Z",
        "R1,2,2024-01-05,2024-02-01T00:00:00Z",  # Stage 2 before Stage 1: out of order
        "R2,1,2024-01-10,2024-02-01T00:00:00Z",
        "R2,2,2024-01-30,2024-02-01T00:00:00Z",
        "R2,ombudsman,2024-03-30,2024-04-01T00:00:00Z",
    ]
    path = write(tmp_path, "stages.csv", "\n".join([header, *rows]) + "\n")
    result = load(warehouse, STAGES_TABLE, path)
    assert (result.rows_loaded, result.rows_quarantined) == (4, 1)
    assert sql("select raw_row->>'stage', reasons from audit.quarantine") == [
        ("2", ["stage out of order: opened before the previous stage"])
    ]
    reconciles(sql, result)


def test_a_failed_batch_leaves_no_partial_rows(warehouse, sql):
    from ingestion.copy_loader import Extract, load_extract

    def broken_stream():
        yield (HEADER + "\n" + GOOD + "\n").encode()
        raise ConnectionError("the source went away mid-extract")

    extract = Extract("rms:rms.cases", HEADER.split(","), broken_stream)
    with database.connect(warehouse, autocommit=True) as conn, pytest.raises(ConnectionError):
        load_extract(conn, REPRESENTATIONS, extract, source_system="rms")
    assert sql("select status, message from audit.load_batches") == [
        ("failed", "ConnectionError: the source went away mid-extract")
    ]
    assert sql("select count(*) from raw_case_system.representations") == [(0,)]
    assert sql("select count(*) from raw_case_system.representations__current") == [(0,)]


def test_personal_tables_quarantine_into_the_restricted_schema(tmp_path, warehouse, sql, settings):
    from ingestion.case_system.contract import COMPLAINANTS

    path = write(
        tmp_path,
        "complainants.csv",
        "complainant_id,given_name,date_of_birth,updated_at\n"
        "C1,Ada,1960-02-01,2024-01-01T00:00:00Z\n"
        "C2,Bob,31/02/1970,2024-01-01T00:00:00Z\n",
    )
    result = load(warehouse, COMPLAINANTS, path, pseudonym_key=settings.pseudonym_key())
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert sql("select count(*) from audit.quarantine") == [(0,)]
    assert sql("select raw_row->>'given_name', reasons from restricted.quarantine") == [
        ("Bob", ["date_of_birth is not a date: 31/02/1970 (expected YYYY-MM-DD, like 2024-03-31)"])
    ]
    assert sql(
        "select complainant_id, given_name, complainant_pseudonym like 'P%%' from restricted.complainants"
    ) == [("C1", "Ada", True)]


@pytest.mark.parametrize("contract", [REPRESENTATIONS, STAGES_TABLE], ids=lambda c: c.name)
def test_the_checks_read_each_typed_value_once(contract):
    """Reading a value (its form's regular expression, then the conversion) is most of what checking a
    row costs: the row checks, the rules across columns and the future check compare one reading each."""
    from psycopg import sql

    from ingestion import row_checks
    from ingestion.copy_loader import _future_check

    header = [c.name for c in contract.columns]
    query = sql.SQL("select array[{checks}] from {prepared} p").format(
        checks=sql.SQL(", ").join(
            [*row_checks.row_checks(contract, header), *_future_check(contract, header, None)]
        ),
        prepared=row_checks.prepared_rows(contract, header, sql.SQL("landing")),
    )
    text = query.as_string()
    typed = [c for c in contract.columns if c.type != "text"]
    assert typed
    assert text.count('audit."parse_') == len(typed), text
