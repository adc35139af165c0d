"""Source systems, described in YAML: where a source is, and how its tables map onto a contract.

A real council's case system plugs in by writing one of these files, no code::

    source_system: rms                  # a short name, recorded on every row loaded from it
    contract: case_system               # which contract its tables fill
    adapter: sql                        # sql (any SQLAlchemy URL) or files (a landing folder of CSVs)
    url: ${CASE_SYSTEM_URL}             # sql: environment variables are expanded; never write a password here
    overlap_hours: 48                   # re-read this much before the high-water mark each night
    replaces: cfs                       # optional: the system this one took over from (migration)
    date_format: DD/MM/YYYY             # optional: YYYY-MM-DD (default), DD/MM/YYYY or EXCEL SERIAL
    timestamp_format: ISO 8601          # optional: ISO 8601 (default), DD/MM/YYYY HH:MM:SS or EXCEL SERIAL
    time_zone: Europe/London            # optional: of timestamps written without a UTC offset (default)
    tables:
      representations:                  # a contract table
        from: rms.cases                 # sql: [schema.]table; files: a glob such as "cases_*.csv" or "*.xlsx"
        sheet: Cases                    # files: the sheet of an XLSX export, when it has several
        columns: {representation_id: case_ref, received_date: date_received}   # contract: source
        codes: {status: {O: open, C: closed}}                                 # source code -> contract code
        detect_deletions: true          # sql only: compare every key each night
        date_format: YYYY-MM-DD         # optional: this table's dates (and timestamp_format)
        formats: {received_date: EXCEL SERIAL}                                # optional: one column's
    unknown_columns: drop               # files: columns the contract does not know (see below)

Dates and timestamps are read only in the declared form, never guessed (ingestion/value_formats.py):
``03/04/2023`` under the default YYYY-MM-DD is quarantined, the reason naming the form expected.

Columns not listed map to the source column of the same name.

``unknown_columns`` says what becomes of a delivered column the contract does not know. Nobody can tell
what such a column holds (a council's export may add ``Complainant Name`` or ``Email``), so for a
contract holding personal data (``case_system``) it is ``drop`` by default -- not loaded anywhere, the
ledger's message naming the columns dropped -- or ``restricted``: kept in ``restricted.unknown_columns``
with the row's case and complainant pseudonym, and purged with the complainant by retention. ``keep``
(the raw row's ``_extra`` and, for a refused row, ``audit.quarantine``) is only for contracts without
personal data, and their default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from complaints_warehouse.errors import ConfigError
from complaints_warehouse.settings import environment_value
from ingestion.case_system import contract as case_system
from ingestion.contract import TableContract
from ingestion.identifiers import UnsafeIdentifier, checked_identifier
from ingestion.ombudsman import contract as ombudsman
from ingestion.value_formats import FormatError, ValueFormats, known_format, known_time_zone

CONTRACTS: dict[str, tuple[TableContract, ...]] = {
    case_system.SOURCE: case_system.TABLES,
    ombudsman.SOURCE: ombudsman.TABLES,
}


class SourceConfigError(ConfigError, ValueError):
    """A source configuration file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"Source configuration {path}: {problem}")


@dataclass(frozen=True)
class TableMapping:
    contract: TableContract
    source: str
    columns: dict[str, str]
    codes: dict[str, dict[str, str]]
    detect_deletions: bool
    sheet: str | None = None
    formats: ValueFormats = field(default_factory=ValueFormats)

    def source_column(self, name: str) -> str:
        return self.columns.get(name, name)


@dataclass(frozen=True)
class SourceConfig:
    path: Path
    source_system: str
    contract: str
    adapter: str
    url: str | None
    landing: Path | None
    archive: bool
    overlap_hours: int
    replaces: str | None
    tables: list[TableMapping] = field(default_factory=list)
    #: drop | restricted | keep (see the module's docstring); None only before the file is read.
    unknown_columns: str | None = None

    def table(self, name: str) -> TableMapping | None:
        return next((t for t in self.tables if t.contract.name == name), None)


def _expand(path: Path, value: str) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        found = environment_value(name)
        if found is None:
            raise SourceConfigError(path, f"uses ${{{name}}}, which is not set in the environment")
        return found

    return re.sub(r"\$\{(\w+)\}", substitute, value)


def _identifier(path: Path, value: object, what: str, dotted: bool = False) -> str:
    try:
        return checked_identifier(value, what, "", dotted=dotted)
    except UnsafeIdentifier as exc:
        raise SourceConfigError(path, str(exc).removeprefix(": ")) from None


def _formats(path: Path, spec: dict, inherited: ValueFormats, contract: TableContract | None) -> ValueFormats:
    """The date and timestamp formats ``spec`` (a source's or a table's settings) declares, over
    ``inherited``."""
    try:
        date = known_format("date", spec["date_format"]) if "date_format" in spec else inherited.date
        stamp = (
            known_format("timestamp", spec["timestamp_format"])
            if "timestamp_format" in spec
            else inherited.timestamp
        )
        zone = known_time_zone(spec["time_zone"]) if "time_zone" in spec else inherited.time_zone
        columns = dict(inherited.columns)
        given = spec.get("formats") or {}
        if contract is None and given:
            raise FormatError("'formats' (one column's format) belongs under a table")
        if not isinstance(given, dict):
            raise FormatError("'formats' must map columns to formats ({received_date: DD/MM/YYYY})")
        for name, declared in given.items():
            column = next((c for c in contract.columns if c.name == str(name)), None)
            if column is None or column.type not in ("date", "timestamp"):
                raise FormatError(
                    f"{contract.name}: formats given for {name!r}, which is not a date or timestamp column"
                )
            columns[column.name] = known_format(column.type, declared)
    except FormatError as exc:
        where = (
            f"{contract.name}: " if contract is not None and not str(exc).startswith(contract.name) else ""
        )
        raise SourceConfigError(path, f"{where}{exc}") from None
    return ValueFormats(date, stamp, zone, columns)


def load_source_config(path: Path) -> SourceConfig:
    """Read and check one source configuration; names are validated, never pasted into SQL unchecked."""
    path = Path(path)
    if not path.is_file():
        raise SourceConfigError(path, "the file does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SourceConfigError(path, f"not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise SourceConfigError(
            path,
            f"expected a mapping of settings (source_system, contract, adapter, tables), not a {type(raw).__name__}",
        )
    for required in ("source_system", "contract", "adapter", "tables"):
        if required not in raw:
            raise SourceConfigError(path, f"missing '{required}'")
    contract_name = raw["contract"]
    if contract_name not in CONTRACTS:
        raise SourceConfigError(path, f"unknown contract {contract_name!r} (known: {', '.join(CONTRACTS)})")
    adapter = raw["adapter"]
    if adapter not in {"sql", "files"}:
        raise SourceConfigError(path, f"unknown adapter {adapter!r} (use sql or files)")
    contracts = {t.name: t for t in CONTRACTS[contract_name]}
    source_formats = _formats(path, raw, ValueFormats(), None)
    if not isinstance(raw["tables"] or {}, dict):
        raise SourceConfigError(
            path, "'tables' must map contract tables to their sources (table: {from: ...})"
        )
    tables = []
    for name, spec in (raw["tables"] or {}).items():
        if name not in contracts:
            raise SourceConfigError(path, f"table {name!r} is not in the {contract_name} contract")
        spec = spec or {}
        if not isinstance(spec, dict) or not all(
            isinstance(spec.get(part) or {}, dict) for part in ("columns", "codes")
        ):
            raise SourceConfigError(
                path, f"{name}: expected a mapping with from, columns, codes (see the examples)"
            )
        contract = contracts[name]
        known = {c.name for c in contract.columns}
        columns = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
        for target, source_col in columns.items():
            if target not in known:
                raise SourceConfigError(path, f"{name}: {target!r} is not a column of the contract")
            _identifier(path, source_col, f"{name}: source column")
        codes = {str(k): {str(a): str(b) for a, b in v.items()} for k, v in (spec.get("codes") or {}).items()}
        for column, mapping in codes.items():
            allowed = contract.column(column).codes if column in known else None
            if not allowed:
                raise SourceConfigError(path, f"{name}: codes given for {column!r}, which has no codes")
            wrong = sorted(set(mapping.values()) - set(allowed))
            if wrong:
                raise SourceConfigError(path, f"{name}.{column}: maps to unknown code(s) {', '.join(wrong)}")
        source = str(spec.get("from", name))
        if adapter == "sql":
            _identifier(path, source, f"{name}: source table", dotted=True)
        tables.append(
            TableMapping(
                contract,
                source,
                columns,
                codes,
                bool(spec.get("detect_deletions", True)),
                sheet=str(spec["sheet"]) if spec.get("sheet") is not None else None,
                formats=_formats(path, spec, source_formats, contract),
            )
        )
    order = [t.name for t in CONTRACTS[contract_name]]
    tables.sort(key=lambda t: order.index(t.contract.name))
    landing = raw.get("landing")
    overlap = raw.get("overlap_hours", 48)
    if isinstance(overlap, str) and overlap.strip().isdigit():
        overlap = int(overlap)
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise SourceConfigError(path, f"overlap_hours {overlap!r} is not a whole number of hours")
    personal = any(t.personal or any(c.pseudonymise for c in t.columns) for t in CONTRACTS[contract_name])
    unknown_columns = raw.get("unknown_columns", "drop" if personal else "keep")
    if unknown_columns not in ("drop", "restricted", "keep"):
        raise SourceConfigError(
            path, f"unknown_columns {unknown_columns!r} is not one of drop, restricted, keep"
        )
    if unknown_columns == "keep" and personal:
        raise SourceConfigError(
            path,
            f"unknown_columns: keep would put columns the {contract_name} contract does not know (personal data, "
            "perhaps) outside the restricted schema; use drop (the default) or restricted",
        )
    return SourceConfig(
        path=path,
        source_system=_identifier(path, raw["source_system"], "source_system"),
        contract=contract_name,
        adapter=adapter,
        url=_expand(path, str(raw["url"])) if raw.get("url") else None,
        landing=(path.parent / _expand(path, str(landing))).resolve() if landing else None,
        archive=bool(raw.get("archive", True)),
        overlap_hours=overlap,
        replaces=_identifier(path, raw["replaces"], "replaces") if raw.get("replaces") else None,
        tables=tables,
        unknown_columns=unknown_columns,
    )
