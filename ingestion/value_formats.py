"""How a source writes its dates and timestamps: declared in its YAML configuration, never guessed.

A value is read only in the form its source declares; anything else is quarantined, the reason naming the
form expected. No server setting (PostgreSQL's ``DateStyle`` or ``TimeZone``) takes part: the checks are
``audit.parse_date`` and ``audit.parse_timestamp`` (complaints_warehouse/warehouse/sql/bootstrap.sql), the same
functions that compute the stored value. A source configuration declares::

    date_format: DD/MM/YYYY                    # default YYYY-MM-DD
    timestamp_format: DD/MM/YYYY HH:MM:SS      # default ISO 8601
    time_zone: Europe/London                   # for timestamps written without a UTC offset (the default)
    tables:
      representations:
        from: cases_*.csv
        date_format: YYYY-MM-DD                # this table only
        formats: {received_date: EXCEL SERIAL} # this column only

Numbers and true/false have one form each: plain digits (``-12``, ``1234.56``), and
true/false/t/f/yes/no/y/n/1/0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ISO_DATE, UK_DATE, EXCEL_SERIAL = "YYYY-MM-DD", "DD/MM/YYYY", "EXCEL SERIAL"
ISO_TIMESTAMP, UK_TIMESTAMP = "ISO 8601", "DD/MM/YYYY HH:MM:SS"
DEFAULT_TIME_ZONE = "Europe/London"

#: Format name -> how a quarantine reason describes it.
DATE_FORMATS = {
    ISO_DATE: "YYYY-MM-DD, like 2024-03-31",
    UK_DATE: "DD/MM/YYYY, like 31/03/2024",
    EXCEL_SERIAL: "an Excel serial day number, like 45382",
}
TIMESTAMP_FORMATS = {
    ISO_TIMESTAMP: "ISO 8601, like 2024-03-31T14:05:00Z",
    UK_TIMESTAMP: "DD/MM/YYYY HH:MM:SS, like 31/03/2024 14:05:00",
    EXCEL_SERIAL: "an Excel serial day number, like 45382.5",
}
#: Other spellings a configuration may use for the same format.
_ALIASES = {
    "date": {"ISO 8601": ISO_DATE, "ISO": ISO_DATE, "DD/MM/YYYY": UK_DATE},
    "timestamp": {
        "ISO": ISO_TIMESTAMP,
        "YYYY-MM-DD": ISO_TIMESTAMP,
        "YYYY-MM-DDTHH:MM:SS": ISO_TIMESTAMP,
        "YYYY-MM-DD HH:MM:SS": ISO_TIMESTAMP,
        "DD/MM/YYYY": UK_TIMESTAMP,
        "DD/MM/YYYY HH:MM": UK_TIMESTAMP,
    },
}


class FormatError(ValueError):
    """A declared format the warehouse cannot read; the message lists the ones it can."""


def known_format(kind: str, declared: object) -> str:
    """The canonical name of a declared ``date`` or ``timestamp`` format."""
    formats = DATE_FORMATS if kind == "date" else TIMESTAMP_FORMATS
    name = " ".join(str(declared).split()).upper() if isinstance(declared, str) else None
    name = _ALIASES[kind].get(name or "", name)
    if name not in formats:
        raise FormatError(
            f"{kind} format {declared!r} is not one the warehouse reads (use one of: {', '.join(formats)})"
        )
    return name


def known_time_zone(declared: object) -> str:
    try:
        ZoneInfo(str(declared))
    except (ZoneInfoNotFoundError, ValueError):
        raise FormatError(
            f"time_zone {declared!r} is not a time zone name like Europe/London or UTC"
        ) from None
    return str(declared)


@dataclass(frozen=True)
class ValueFormats:
    """The forms of one table's dates and timestamps: the table's (or source's) defaults, and any
    column's own."""

    date: str = ISO_DATE
    timestamp: str = ISO_TIMESTAMP
    time_zone: str = DEFAULT_TIME_ZONE
    columns: dict[str, str] = field(default_factory=dict)

    def of(self, name: str, type_: str) -> str | None:
        """The format of a column of contract type ``type_`` (None for types with one form)."""
        if type_ not in ("date", "timestamp"):
            return None
        return self.columns.get(name) or (self.date if type_ == "date" else self.timestamp)

    def expected(self, name: str, type_: str) -> str:
        """How a quarantine reason says what was expected."""
        fmt = self.of(name, type_)
        return (DATE_FORMATS if type_ == "date" else TIMESTAMP_FORMATS)[fmt]

    def with_columns(self, columns: dict[str, str]) -> ValueFormats:
        return ValueFormats(self.date, self.timestamp, self.time_zone, {**self.columns, **columns})

    def write_date(self, name: str, value: date | datetime, type_: str) -> str:
        """A spreadsheet's date cell as text in the column's declared form, so that it is read back as
        exactly that day and time. A time is never dropped: a date column given a time of day gets a
        value its check refuses, naming the column."""
        fmt = self.of(name, type_) or (ISO_TIMESTAMP if isinstance(value, datetime) else ISO_DATE)
        moment = value if isinstance(value, datetime) else datetime.combine(value, time())
        has_time = moment.time() != time()
        if fmt == EXCEL_SERIAL:
            days = (moment - datetime(1899, 12, 30)).total_seconds() / 86400
            return _plain(round(days, 10)) if has_time else str(int(days))
        if fmt in (UK_DATE, UK_TIMESTAMP):
            text = moment.strftime("%d/%m/%Y")
            return f"{text} {moment.strftime('%H:%M:%S')}" if has_time else text
        if has_time or (fmt == ISO_TIMESTAMP and isinstance(value, datetime) and value.tzinfo):
            return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
        return moment.date().isoformat()


DEFAULT = ValueFormats()


def _plain(number: float) -> str:
    text = format(number, ".10f").rstrip("0")
    return text.rstrip(".") or "0"
