"""Values are read in the form their source declares, never by a server setting, and only plain, finite
values are stored: dates and timestamps (DateStyle, TimeZone, PostgreSQL's special words), numbers (NaN,
Infinity, 0x1F) and spreadsheet cells (never through a float)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from complaints_warehouse import pipeline
from complaints_warehouse.warehouse import database
from ingestion.case_system.contract import REPRESENTATIONS
from ingestion.copy_loader import load_file
from ingestion.source_config import load_source_config
from ingestion.value_formats import ValueFormats
from ingestion.workbooks import InexactCell, cell_text, xlsx_to_csv

HEADER = (
    "representation_id,representation_type,procedure,received_date,service_area_code,directorate,"
    "status,closed_date,updated_at"
)


def row(ref: str, received: str, closed: str, updated: str) -> str:
    return f"{ref},complaint,corporate,{received},ENV-WST,Environment,closed,{closed},{updated}"


def load(warehouse, path: Path, **kwargs):
    with database.connect(warehouse, autocommit=True) as conn:
        return load_file(conn, REPRESENTATIONS, path, reload=True, **kwargs)


def stored(sql, batch_id: int) -> list[tuple]:
    return sql(
        "select representation_id, to_char(received_date, 'YYYY-MM-DD'), to_char(closed_date, 'YYYY-MM-DD'), "
        "to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
        "from raw_case_system.representations where _batch_id = %s order by 1",
        (batch_id,),
    )


@pytest.mark.parametrize("datestyle", ["ISO, MDY", "SQL, DMY", "German, DMY", "Postgres, MDY"])
def test_day_first_dates_are_stored_as_the_source_declares_whatever_the_servers_datestyle(
    tmp_path, warehouse, sql, datestyle
):
    sql(f"alter database {warehouse.dbname} set datestyle = '{datestyle}'")
    sql(f"alter database {warehouse.dbname} set timezone = 'America/New_York'")
    path = tmp_path / "representations.csv"
    path.write_text(
        f"{HEADER}\n{row('R1', '03/04/2023', '13/04/2023', '03/04/2023 14:05')}\n"
        f"{row('R2', '2023-04-03', '', '2023-04-03T14:05:00Z')}\n"
    )
    declared = ValueFormats(date="DD/MM/YYYY", timestamp="DD/MM/YYYY HH:MM:SS")
    result = load(warehouse, path, formats=declared)
    # 3 April, 13 April; 14:05 in London (BST) is 13:05 UTC whatever the server's time zone.
    assert stored(sql, result.batch_id) == [("R1", "2023-04-03", "2023-04-13", "2023-04-03 13:05:00")]
    assert sql("select reasons from audit.quarantine where batch_id = %s", (result.batch_id,)) == [
        (
            [
                "received_date is not a date: 2023-04-03 (expected DD/MM/YYYY, like 31/03/2024)",
                "updated_at is not a timestamp: 2023-04-03T14:05:00Z "
                "(expected DD/MM/YYYY HH:MM:SS, like 31/03/2024 14:05:00)",
            ],
        )
    ]

    # The same file from a source that declares nothing (ISO 8601): the day-first row is quarantined,
    # naming the form expected, never read as 4 March.
    result = load(warehouse, path)
    assert stored(sql, result.batch_id) == [("R2", "2023-04-03", None, "2023-04-03 14:05:00")]
    assert sql("select reasons[1] from audit.quarantine where batch_id = %s", (result.batch_id,)) == [
        ("received_date is not a date: 03/04/2023 (expected YYYY-MM-DD, like 2024-03-31)",)
    ]


def test_the_strict_readers_refuse_special_words_and_read_only_the_declared_form(sql):
    cases = {
        # value, format -> stored (None: not a value of the type)
        ("2024-02-29", "YYYY-MM-DD"): "2024-02-29",
        ("2023-02-29", "YYYY-MM-DD"): None,
        ("0001-01-01", "YYYY-MM-DD"): "0001-01-01",
        ("0000-01-01", "YYYY-MM-DD"): None,
        ("9999-12-31", "YYYY-MM-DD"): "9999-12-31",
        ("+2023-04-01", "YYYY-MM-DD"): None,
        ("03/04/2023", "DD/MM/YYYY"): "2023-04-03",
        ("31/04/2023", "DD/MM/YYYY"): None,
        ("3/4/2023", "DD/MM/YYYY"): None,
        ("45191", "EXCEL SERIAL"): "2023-09-22",
        ("60", "EXCEL SERIAL"): None,  # 29 February 1900, which Excel counts and the calendar does not
        ("61", "EXCEL SERIAL"): "1900-03-01",
    }
    for word in ("epoch", "infinity", "-infinity", "today", "yesterday", "tomorrow", "now", "J2460000"):
        cases[(word, "YYYY-MM-DD")] = None
    cases[("2023-04-01 BC", "YYYY-MM-DD")] = None
    for (value, fmt), expected in cases.items():
        got = sql("select to_char(audit.parse_date(%s, %s), 'YYYY-MM-DD')", (value, fmt))[0][0]
        assert got == expected, (value, fmt)

    stamps = {
        "2023-07-02T10:00:00Z": "2023-07-02 10:00:00",
        "2023-07-02T10:00:00+01:00": "2023-07-02 09:00:00",
        "2023-07-02 10:00:00-0530": "2023-07-02 15:30:00",
        "2023-07-02T10:00:00": "2023-07-02 09:00:00",  # no offset: Europe/London (BST)
        "2023-01-02T10:00:00": "2023-01-02 10:00:00",  # no offset: Europe/London (GMT)
        "2023-07-02": "2023-07-01 23:00:00",
        "2023-07-02T24:00:00Z": None,
        "2023-07-02T23:59:60Z": None,
        "2023-07-02T10:00:00.1234567Z": None,
        "2023-07-02 10:00 BST": None,
        "epoch": None,
        "infinity": None,
        "now": None,
    }
    for value, expected in stamps.items():
        got = sql(
            "select to_char(audit.parse_timestamp(%s, 'ISO 8601', 'Europe/London') at time zone 'UTC', "
            "'YYYY-MM-DD HH24:MI:SS')",
            (value,),
        )[0][0]
        assert got == expected, value

    numbers = {"12.50": "12.50", "-0": "0", ".5": "0.5", "NaN": None, "Infinity": None, "-Infinity": None}
    numbers |= {"1e309": None, "2.5e2": None, "1,000": None, "£250": None, "０": None}
    for value, expected in numbers.items():
        assert sql("select audit.parse_numeric(%s)::text", (value,))[0][0] == expected, value
    for value in ("0x1F", "0o17", "0b101", "1_000", "9223372036854775808", "1.0"):
        assert sql("select audit.parse_integer(%s)", (value,))[0][0] is None, value
    assert sql("select audit.parse_integer('000123'), audit.parse_integer('-42')") == [(123, -42)]


def test_a_column_declared_as_excel_serial_days_stores_the_day(tmp_path, warehouse, sql):
    path = tmp_path / "representations.csv"
    path.write_text(f"{HEADER}\n{row('R1', '45191', '2023-09-28', '45197.5')}\n")
    declared = ValueFormats(columns={"received_date": "EXCEL SERIAL", "updated_at": "EXCEL SERIAL"})
    result = load(warehouse, path, formats=declared)
    # 45197.5 is noon on 28 September 2023 in London (BST): 11:00 UTC.
    assert stored(sql, result.batch_id) == [("R1", "2023-09-22", "2023-09-28", "2023-09-28 11:00:00")]


def test_workbook_cells_are_read_as_the_contracts_types_not_through_floats(tmp_path, warehouse, sql):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append([123, "complaint", "corporate", date(2023, 9, 17), "ENV-WST", "Environment", "closed"])
    sheet.cell(2, 1).number_format = "000000"
    sheet.cell(2, 8).value = date(2023, 9, 28)
    sheet.cell(2, 9).value = datetime(2023, 9, 28, 14, 5, 7)
    path = tmp_path / "cases.xlsx"
    workbook.save(path)
    csv_path = xlsx_to_csv(path, tmp_path / "cases.csv", contract=REPRESENTATIONS)
    result = load(warehouse, csv_path)
    # The id as shown (000123), the day, and the time kept (14:05:07 BST is 13:05:07 UTC).
    assert stored(sql, result.batch_id) == [("000123", "2023-09-17", "2023-09-28", "2023-09-28 13:05:07")]


def test_cell_text_writes_plain_numbers_with_a_spreadsheets_precision():
    assert cell_text(0.1 + 0.2, "General", type_="numeric") == "0.3"
    assert cell_text(1e-07, "General", type_="numeric") == "0.0000001"
    assert cell_text(0.92, "0%", type_="numeric") == "92"
    assert cell_text(250.1, "General", type_="numeric") == "250.1"
    assert cell_text(12345678901234567890, "General", type_="text") == "12345678901234567890"  # exact int
    assert cell_text(123, "000000", type_="text") == "000123"
    assert cell_text(123, "000000", type_="integer") == "123"
    with pytest.raises(InexactCell, match="more digits than a spreadsheet holds exactly"):
        cell_text(1.2345678901234567e19, "General", type_="text")
    assert cell_text(datetime(2023, 4, 3, 14, 5), None, name="d", type_="date") == "2023-04-03T14:05:00"
    uk = ValueFormats(date="DD/MM/YYYY", timestamp="DD/MM/YYYY HH:MM:SS")
    assert cell_text(datetime(2023, 4, 3), None, name="d", type_="date", formats=uk) == "03/04/2023"
    assert cell_text(datetime(2023, 4, 3, 9, 1, 2), None, name="t", type_="timestamp", formats=uk) == (
        "03/04/2023 09:01:02"
    )


def test_a_postgresql_source_is_read_in_iso_whatever_its_datestyle_and_local_times_in_its_zone(
    tmp_path, settings, warehouse, sql
):
    """The source's own session writes ISO dates (its database says DateStyle SQL, DMY) and its times
    without time zone are the source's wall clock (Europe/London), not the server's zone."""
    sql(
        "create schema vendor; create table vendor.cases (case_ref text, case_kind text, procedure text, "
        "date_received date, unit text, directorate text, status text, modified_at timestamp)"
    )
    sql(
        "insert into vendor.cases values ('V1', 'complaint', 'corporate', '2023-04-03', 'ENV-WST', "
        "'Environment', 'open', '2023-07-01 10:00:00')"
    )
    sql(f"alter database {warehouse.dbname} set datestyle = 'SQL, DMY'")
    sql(f"alter database {warehouse.dbname} set timezone = 'America/New_York'")
    config_path = tmp_path / "vendor.yml"
    config_path.write_text(
        f"source_system: vendor\ncontract: case_system\nadapter: sql\nurl: warehouse-server:{warehouse.dbname}\n"
        "date_format: DD/MM/YYYY\n"  # for dates kept as text: the source's date columns are read as dates
        "tables:\n  representations:\n    from: vendor.cases\n    detect_deletions: false\n"
        "    columns: {representation_id: case_ref, representation_type: case_kind, received_date: date_received,\n"
        "              service_area_code: unit, updated_at: modified_at}\n"
    )
    config = load_source_config(config_path)
    pipeline.step_load_source_system(settings, warehouse, config, echo=lambda line: None)
    assert sql(
        "select representation_id, to_char(received_date, 'YYYY-MM-DD'), "
        "to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') from raw_case_system.representations"
    ) == [("V1", "2023-04-03", "2023-07-01 09:00:00")]


def test_formats_are_declared_for_a_source_a_table_or_a_column(tmp_path):
    path = tmp_path / "source.yml"
    path.write_text(
        "source_system: cfs\ncontract: case_system\nadapter: files\nlanding: .\n"
        "date_format: dd/mm/yyyy\ntimestamp_format: DD/MM/YYYY HH:MM\ntime_zone: UTC\n"
        "tables:\n  representations:\n    formats: {received_date: EXCEL SERIAL}\n"
        "  stages:\n    date_format: ISO\n    timestamp_format: ISO 8601\n"
    )
    config = load_source_config(path)
    representations, stages = config.table("representations").formats, config.table("stages").formats
    assert (representations.of("received_date", "date"), representations.of("closed_date", "date")) == (
        "EXCEL SERIAL",
        "DD/MM/YYYY",
    )
    assert representations.of("updated_at", "timestamp") == "DD/MM/YYYY HH:MM:SS"
    assert (stages.of("opened_date", "date"), stages.of("updated_at", "timestamp")) == (
        "YYYY-MM-DD",
        "ISO 8601",
    )
    assert stages.time_zone == representations.time_zone == "UTC"
    assert representations.of("status", "text") is None
