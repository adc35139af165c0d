"""Catalogue entries for values read wrongly: dates by the server's DateStyle, PostgreSQL's special input
words (epoch, infinity, NaN, 0x1F...) taken as data, and spreadsheet cells read through floats.

Every value is read only in the form its source declares (``date_format``, ``timestamp_format``,
``time_zone``, ``formats`` in the source's YAML; ISO 8601 by default) and must be plain and finite.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime

from . import builders as b
from .builders import Delivery
from .catalogue import (
    FILES_SOURCE,
    Accepted,
    BadInput,
    BuildContext,
    Exits,
    Quarantined,
    Refused,
    _case_table,
    _config,
    _published,
    _reference,
    _representations,
    _sql_source,
)

ISO = "(expected YYYY-MM-DD"
ISO_TS = "(expected ISO 8601"
UK = "(expected DD/MM/YYYY"
R = "representations"
DATES = ("received_date", "closed_date")


def _day_first(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}" if iso else ""


def _excel_serial(iso: str) -> str:
    return str((date.fromisoformat(iso) - date(1899, 12, 30)).days) if iso else ""


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _declared_day_first(
    change: dict[str, str],
    *,
    config: str = "    date_format: DD/MM/YYYY\n",
    written: Callable[[str], str] = _day_first,
):
    """``representations.csv`` with the bundled rows' dates ``written`` another way (day first), then
    one row with ``change``, under a source declaring ``config`` for the table."""

    def build(ctx: BuildContext) -> Delivery:
        header, good = b.good_case_rows(R, 2)
        for row in good:
            row.update({c: written(row[c]) for c in DATES})
        bad = dict(good[0], representation_id="CFS-DMY", **change)
        path = b.write(
            ctx.folder,
            "representations.csv",
            b.csv_text(header, [[r[h] for h in header] for r in [*good, bad]]),
        )
        return Delivery(
            file=path,
            table=R,
            raw=dict(change),
            config=f"  representations:\n    from: representations.csv\n{config}",
        )

    return build


def _workbook_row(change: dict[str, object], number_formats: dict[str, str] | None = None):
    """``cases.xlsx``: the bundled representations' first two rows as text cells, then a row with
    ``change`` as typed cells (a number, a datetime), columns given ``number_formats``."""

    def build(ctx: BuildContext) -> Delivery:
        from openpyxl import Workbook

        header, good = b.good_case_rows(R, 2)
        bad = dict(good[0], representation_id="CFS-XLSX") | change
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "Cases"
        for row in [dict(zip(header, header, strict=True)), *good, bad]:
            sheet.append([row[h] for h in header])
        for column, number_format in (number_formats or {}).items():
            sheet.cell(4, header.index(column) + 1).number_format = number_format
        buffer = io.BytesIO()
        workbook.save(buffer)
        path = b.write(ctx.folder, "cases.xlsx", buffer.getvalue())
        return Delivery(file=path, table=R, config="  representations: {from: cases.xlsx}\n")

    return build


def _with_raw(build: Callable[[BuildContext], Delivery], raw: dict[str, str]):
    def wrapped(ctx: BuildContext) -> Delivery:
        delivery = build(ctx)
        delivery.raw = raw
        return delivery

    return wrapped


def _sql_day_first(ctx: BuildContext) -> Delivery:
    header, good = b.good_case_rows(R, 3)
    good[2]["received_date"] = "03/04/2023"
    good[2]["closed_date"] = ""
    good[2]["status"] = "open"
    delivery = _sql_source(
        ctx,
        columns=header,
        rows=[[r[h] for h in header] for r in good],
        mapping="    detect_deletions: false\n",
    )
    delivery.raw = {"received_date": "03/04/2023"}
    return delivery


def _date(word: str, *, column: str = "received_date", note: str = "") -> BadInput:
    change = {"status": "open", "closed_date": ""} if column == "received_date" else {}
    return BadInput(
        f"date-word-{_slug(column)}-{'minus-' if word.startswith('-') else ''}{_slug(word)}",
        "case system rows",
        "landing",
        f"PostgreSQL's special date input `{word}` as a {column.replace('_', ' ')}",
        _representations({**change, column: word}),
        Quarantined(f"{column} is not a date: {word} {ISO}"),
        notes=note,
    )


def _timestamp(value: str, what: str, note: str = "") -> BadInput:
    return BadInput(
        f"timestamp-{'minus-' if value.startswith('-') else ''}{_slug(value)}",
        "case system rows",
        "landing",
        f"{what} as `updated_at` (`{value}`)",
        _representations({"updated_at": value}),
        Quarantined(f"updated_at is not a timestamp: {value} {ISO_TS}"),
        notes=note,
    )


def _amount(value: str, what: str, note: str = "") -> BadInput:
    return BadInput(
        f"payment-amount-{'minus-' if value.startswith('-') else ''}{_slug(value)}",
        "case system rows",
        "landing",
        f"{what} as a payment amount (`{value}`)",
        _case_table("payments", {"amount": value}),
        Quarantined(f"amount is not a number: {value}", loaded=1),
        notes=note,
    )


def _suspended(value: str, what: str) -> BadInput:
    return BadInput(
        f"stage-suspended-days-{_slug(value)}",
        "case system rows",
        "landing",
        f"{what} as a whole number of suspended days (`{value}`)",
        _case_table("stages", {"suspended_days": value}),
        Quarantined(f"suspended_days is not a whole number: {value}", loaded=1),
        notes="PostgreSQL 16+ reads `0x1F`, `0o17`, `0b101` and `1_000` as integers; a source does not mean them.",
    )


ENTRIES: tuple[BadInput, ...] = (
    # --- A1: dates in the form the source declares, never the server's DateStyle -------------------------
    BadInput(
        "date-day-first-under-iso-default",
        "case system rows",
        "landing",
        "a UK day-first date (`03/04/2023`) from a source that declares no date format (ISO 8601 by default)",
        _representations({"received_date": "03/04/2023"}),
        Quarantined(f"received_date is not a date: 03/04/2023 {ISO}, like 2024-03-31)"),
        notes=(
            "Was stored as 4 March under the server's `DateStyle` (ISO, MDY) while `13/04/2023` was "
            "quarantined. Never guessed: a source that writes day first says so (`date_format: DD/MM/YYYY`)."
        ),
    ),
    BadInput(
        "date-day-first-declared",
        "case system rows",
        "landing",
        "day-first dates (`03/04/2023`, `13/04/2023`) from a source declaring `date_format: DD/MM/YYYY`",
        _declared_day_first({"received_date": "03/04/2023"}),
        Accepted(3),
        notes="Stored as 3 April 2023 whatever the server's DateStyle (tests/test_value_formats.py).",
    ),
    BadInput(
        "date-iso-under-declared-day-first",
        "case system rows",
        "landing",
        "an ISO date (`2023-04-03`) in a file whose source declares `DD/MM/YYYY`",
        _declared_day_first({"received_date": "2023-04-03"}),
        Quarantined(f"received_date is not a date: 2023-04-03 {UK}", loaded=2),
        notes="One form per column: a file mixing forms is a file to fix, not to guess.",
    ),
    BadInput(
        "date-two-digit-year-under-declared-day-first",
        "case system rows",
        "landing",
        "a two-digit year (`03/04/23`) from a source declaring `DD/MM/YYYY`",
        _declared_day_first({"received_date": "03/04/23"}),
        Quarantined(f"received_date is not a date: 03/04/23 {UK}", loaded=2),
        notes="1923 or 2023: never guessed.",
    ),
    BadInput(
        "date-excel-serial-declared",
        "case system rows",
        "landing",
        "Excel serial day numbers (`45191`) in a column the source declares `EXCEL SERIAL`",
        _declared_day_first(
            {"received_date": "45191", "closed_date": "2023-09-28"},
            config="    formats: {received_date: EXCEL SERIAL, closed_date: EXCEL SERIAL}\n",
            written=_excel_serial,
        ),
        Quarantined("closed_date is not a date: 2023-09-28 (expected an Excel serial day number"),
        notes=(
            "A column's own format wins over the table's and the source's: 45191 loads as 2023-09-22 "
            "(tests/test_value_formats.py); an ISO date in that column is quarantined."
        ),
    ),
    BadInput(
        "date-not-zero-padded",
        "case system rows",
        "landing",
        "an ISO date without leading zeros (`2023-4-1`)",
        _representations({"received_date": "2023-4-1"}),
        Quarantined(f"received_date is not a date: 2023-4-1 {ISO}"),
    ),
    BadInput(
        "date-unicode-digits",
        "case system rows",
        "landing",
        "a date in full-width digits (`２０２３-09-17`)",
        _representations({"received_date": "２０２３-09-17"}),
        Quarantined(f"received_date is not a date: ２０２３-09-17 {ISO}"),
    ),
    BadInput(
        "timestamp-day-first-under-iso-default",
        "case system rows",
        "landing",
        "a day-first timestamp (`03/04/2023 10:00`) from a source declaring no timestamp format",
        _representations({"updated_at": "03/04/2023 10:00"}),
        Quarantined(f"updated_at is not a timestamp: 03/04/2023 10:00 {ISO_TS}"),
        notes="Was stored as 4 March 10:00 under `DateStyle` MDY.",
    ),
    BadInput(
        "sql-day-first-date-under-iso-default",
        "case system rows",
        "sql",
        "a source database's text column holding `03/04/2023`, the source declaring no date format",
        _sql_day_first,
        Quarantined(f"received_date is not a date: 03/04/2023 {ISO}"),
        notes="A source's own date and timestamp columns are written by the extract in ISO 8601 whatever the format declared.",
    ),
    # --- A2: PostgreSQL's special input words are not data ------------------------------------------------
    _date("epoch", note="PostgreSQL reads it as 1970-01-01."),
    _date("infinity"),
    _date("-infinity", note="`-infinity` made the nightly `dbt build` fail after filling the disk."),
    _date("today"),
    _date("yesterday"),
    _date("J2460000", note="A Julian day number: 2023-02-24 to PostgreSQL."),
    _date("2023-04-01 BC"),
    _date("epoch", column="closed_date"),
    _timestamp("epoch", "PostgreSQL's `epoch`"),
    _timestamp(
        "infinity",
        "PostgreSQL's `infinity`",
        note="Such rows were never extracted again by the high-water mark.",
    ),
    _timestamp("today", "PostgreSQL's `today`"),
    _timestamp("2023-09-28T24:00:00Z", "the hour 24", note="PostgreSQL reads it as midnight the next day."),
    _timestamp("2023-09-28T23:59:60Z", "a leap second", note="PostgreSQL reads it as the next minute."),
    _timestamp("2023-09-28T10:00:00.1234567Z", "seven decimal places of seconds (PostgreSQL rounds them)"),
    _timestamp("2023-09-28 10:00 BST", "a time zone abbreviation"),
    _timestamp("2023-09-28 10:00:00 Europe/Paris", "a time zone name after the time"),
    _amount("NaN", "NaN", note="NaN passes `>= 0`: a NaN payment was published in a BMMR."),
    _amount("Infinity", "Infinity"),
    _amount("-Infinity", "-Infinity"),
    _amount("1e309", "a number in exponent notation beyond any double"),
    _amount("2.5e2", "a number in exponent notation"),
    _suspended("0x1F", "a hexadecimal literal"),
    _suspended("0o17", "an octal literal"),
    _suspended("0b101", "a binary literal"),
    _suspended("1_000", "digits with underscores"),
    BadInput(
        "row-boolean-prefix",
        "case system rows",
        "landing",
        "a yes/no column saying `of` (PostgreSQL reads the prefix as `off`)",
        _representations({"joint_with_nhs": "of"}),
        Quarantined("joint_with_nhs is not true or false: of"),
        notes="true/false/t/f/yes/no/y/n/1/0 (any case) only.",
    ),
    BadInput(
        "decision-date-today",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "an Ombudsman decision dated `today`",
        _published("decisions", {"Decision date": "today"}, {"decision_date": "today"}),
        Quarantined(f"decision_date is not a date: today {ISO}"),
    ),
    BadInput(
        "reference-valid-from-epoch",
        "reference data",
        "reference",
        "an authority valid from `epoch`",
        _reference("authorities", {"valid_from": "epoch"}),
        Quarantined(f"valid_from is not a date: epoch {ISO}"),
    ),
    # --- A7: workbook cells read as the contract's types, never through a float ------------------------
    BadInput(
        "xlsx-long-numeric-id",
        "case system files",
        "landing",
        "an XLSX case reference stored as a number with 20 digits (`12345678901234567890`)",
        _workbook_row({"representation_id": 12345678901234567890}),
        Refused(
            "cell A4 (representation_id): the number 1.234567890123457e+19 has more digits than a "
            "spreadsheet holds exactly (15)"
        ),
        notes="It read back as 12345678901234569216: a different case. The column must be Text in the workbook.",
    ),
    BadInput(
        "xlsx-leading-zero-id",
        "case system files",
        "landing",
        "an XLSX case reference shown as `000123` (the number 123, formatted `000000`), in a row with a bad code",
        _with_raw(
            _workbook_row(
                {"representation_id": 123, "procedure": "housing_appeal"}, {"representation_id": "000000"}
            ),
            {"representation_id": "000123"},
        ),
        Quarantined("unknown procedure code: housing_appeal"),
        notes="The id is read as shown (`000123`), not as `123`: the quarantine keeps it so.",
    ),
    BadInput(
        "xlsx-date-with-time",
        "case system files",
        "landing",
        "an XLSX date-and-time cell (`2023-09-17 14:05`) in a date column",
        _with_raw(
            _workbook_row({"received_date": datetime(2023, 9, 17, 14, 5)}),
            {"received_date": "2023-09-17T14:05:00"},
        ),
        Quarantined(f"received_date is not a date: 2023-09-17T14:05:00 {ISO}"),
        notes="The time was dropped; a timestamp column now keeps it (tests/test_value_formats.py).",
    ),
    # --- source configurations: formats the warehouse cannot read -------------------------------------------
    BadInput(
        "config-unknown-date-format",
        "source configs",
        "cli",
        "`date_format: MM/DD/YYYY` (a US form the warehouse does not read)",
        _config(FILES_SOURCE + "date_format: MM/DD/YYYY\ntables: {}\n"),
        Exits(
            2, "date format 'MM/DD/YYYY' is not one the warehouse reads (use one of: YYYY-MM-DD, DD/MM/YYYY"
        ),
    ),
    BadInput(
        "config-unknown-time-zone",
        "source configs",
        "cli",
        "`time_zone: Mars/Olympus`",
        _config(FILES_SOURCE + "time_zone: Mars/Olympus\ntables: {}\n"),
        Exits(2, "time_zone 'Mars/Olympus' is not a time zone name"),
    ),
    BadInput(
        "config-format-for-a-text-column",
        "source configs",
        "cli",
        "a column format for a column that is not a date (`formats: {status: DD/MM/YYYY}`)",
        _config(FILES_SOURCE + "tables:\n  representations:\n    formats: {status: DD/MM/YYYY}\n"),
        Exits(2, "representations: formats given for 'status', which is not a date or timestamp column"),
    ),
)
