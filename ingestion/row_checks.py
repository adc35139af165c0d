"""SQL that finds every way a landed row breaks its contract, evaluated set-based inside PostgreSQL.

Landed values are text as delivered; ``value()`` trims them and treats empty as missing, ``typed()`` reads
them as their type in the form the source declares (``parsed()``: the strict ``audit.parse_*`` functions,
which the checks use too, so that what is checked is exactly what is stored; no server setting such as
DateStyle takes part, and PostgreSQL's special input words such as ``epoch`` or ``NaN`` are not values). Each check is a CASE that yields a reason or NULL, so one pass collects all of a row's reasons.

The row checks read ``prepared_rows()``: each value trimmed once and each typed value read once per row
(a check and the rules that compare the same column would otherwise read it again; reading is most of
the cost of checking).
"""

from __future__ import annotations

import hashlib

from psycopg import sql

from ingestion.contract import BatchRule, Column, TableContract
from ingestion.value_formats import DEFAULT, ValueFormats

#: How a quarantine reason names each type: "amount is not a number: £250.00".
TYPE_NOUNS = {
    "date": "a date",
    "timestamp": "a timestamp",
    "integer": "a whole number",
    "numeric": "a number",
    "boolean": "true or false",
}


def value(column: str) -> sql.Composable:
    """The cell as delivered, trimmed; empty means missing."""
    return sql.SQL("nullif(btrim({}), '')").format(sql.Identifier(column))


def typed_name(column: str, sql_type: str) -> sql.Identifier:
    """The name under which ``prepared_rows`` holds ``column`` read as ``sql_type`` (null when it does not
    read as one): of fixed length, so that long column names cannot be cut to the same 63-character
    identifier."""
    digest = hashlib.md5(f"{sql_type}:{column}".encode()).hexdigest()[:16]
    return sql.Identifier(f"_typed_{digest}")


def validity_flag(column: str, sql_type: str) -> sql.Composable:
    """Whether ``column`` of a row of ``prepared_rows`` is missing or reads as ``sql_type``."""
    return sql.SQL("({} is null or {} is not null)").format(
        sql.Identifier(column), typed_name(column, sql_type)
    )


def prepared(column: Column) -> sql.Composable:
    """``column`` of a row of ``prepared_rows`` as its type, read once: what the checks and rules compare."""
    if column.type == "text":
        return sql.Identifier(column.name)
    return typed_name(column.name, column.sql_type)


def parsed(
    column: Column, formats: ValueFormats, cell: sql.Composable, checked: bool = False
) -> sql.Composable:
    """``cell`` (trimmed text, null when empty) read as the column's type, in the form its source
    declares: null when it is not a plain value of that type. The one reading used both to check a
    value and to store it, so what is checked is what is stored (see ``audit.parse_*``).

    ``checked``: the row has passed its checks, so the value's form is known good; it is converted by
    the same function ``audit.parse_*`` converts with after its form test (``audit.*_from_checked``),
    without testing the form again (the regular expressions are most of the cost of reading)."""
    if column.type == "date":
        function = "date_from_checked" if checked else "parse_date"
        return sql.SQL("audit.{}({}, {})").format(
            sql.Identifier(function), cell, sql.Literal(formats.of(column.name, "date"))
        )
    if column.type == "timestamp":
        function = "timestamp_from_checked" if checked else "parse_timestamp"
        return sql.SQL("audit.{}({}, {}, {})").format(
            sql.Identifier(function),
            cell,
            sql.Literal(formats.of(column.name, "timestamp")),
            sql.Literal(formats.time_zone),
        )
    if checked and column.type in ("integer", "numeric"):  # plain digits: read the same by any cast
        return sql.SQL("({})::{}").format(cell, sql.SQL(column.sql_type))
    if column.type in ("integer", "numeric", "boolean"):
        return sql.SQL("audit.{}({})").format(sql.Identifier(f"parse_{column.type}"), cell)
    return cell


def as_declared_text(column: Column, formats: ValueFormats, typed_value: sql.Composable) -> sql.Composable:
    """A value already stored typed (a raw table's), written back as text in the form its source declares,
    so that ``parsed`` reads it as that same value: how rules compare held rows with a batch's cells."""
    fmt = formats.of(column.name, column.type)
    zone = sql.Literal(formats.time_zone)
    if column.type == "date":
        if fmt == "EXCEL SERIAL":
            return sql.SQL("(({}) - date '1899-12-30')::text").format(typed_value)
        pattern = "DD/MM/YYYY" if fmt == "DD/MM/YYYY" else "YYYY-MM-DD"
        return sql.SQL("to_char({}, {})").format(typed_value, sql.Literal(pattern))
    if column.type == "timestamp":
        if fmt == "EXCEL SERIAL":
            return sql.SQL(
                "(extract(epoch from (({}) at time zone {}) - timestamp '1899-12-30') / 86400)::numeric::text"
            ).format(typed_value, zone)
        if fmt == "DD/MM/YYYY HH:MM:SS":
            return sql.SQL("to_char(({}) at time zone {}, 'DD/MM/YYYY HH24:MI:SS')").format(typed_value, zone)
        return sql.SQL("to_char(({}) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')").format(
            typed_value
        )
    return sql.SQL("({})::text").format(typed_value)


def _type_tests(contract: TableContract, header: list[str]) -> dict[str, None]:
    """Every column whose type the row checks test, once each, in a stable order."""
    tests: dict[str, None] = {}
    for column in (c for c in contract.columns if c.name in header):
        if column.type != "text":
            tests[column.name] = None
    for rule in contract.rules:
        if set(rule.columns) <= set(header):
            for name in rule.columns:
                if contract.column(name).type != "text":
                    tests[name] = None
    return tests


def prepared_rows(
    contract: TableContract, header: list[str], rows: sql.Composable, formats: ValueFormats = DEFAULT
) -> sql.Composable:
    """``rows`` with every cell trimmed (empty as null) and each typed column read as its type, each once
    per row (``typed_name``; ``validity_flag`` and ``prepared`` read them): reading is most of the cost of
    checking, and the checks, rules and the future check all compare the one reading. OFFSET 0 keeps the
    planner from folding the subqueries back into each use."""
    trimmed = sql.SQL(", ").join(sql.SQL("{} as {}").format(value(h), sql.Identifier(h)) for h in header)
    readings = [
        sql.SQL(", {} as {}").format(
            parsed(contract.column(name), formats, sql.Identifier(name)),
            typed_name(name, contract.column(name).sql_type),
        )
        for name in _type_tests(contract, header)
    ]
    return sql.SQL(
        "(select t.*{readings} from (select _row_number, {trimmed} from {rows} offset 0) t offset 0)"
    ).format(
        readings=sql.SQL("").join(readings),
        trimmed=trimmed,
        rows=rows,
    )


def typed(column: Column, formats: ValueFormats = DEFAULT, checked: bool = False) -> sql.Composable:
    """The cell of the landing table read as the column's type (null when it does not read as one;
    ``checked``: of a row that passed its checks, see ``parsed``)."""
    return parsed(column, formats, value(column.name), checked)


def stored(column: Column, formats: ValueFormats = DEFAULT, checked: bool = False) -> sql.Composable:
    """The value as the raw table stores it: typed, or the pseudonym of it; for a ``key_as`` column
    (only ever read as a key) what the current-version index keys it by."""
    if column.pseudonymise:
        return sql.SQL("audit.pseudonym({})").format(value(column.name))
    if column.key_as:
        return key_value(column)
    return typed(column, formats, checked)


def key_value(column: Column) -> sql.Composable:
    """The cell as a key compares it: trimmed, or resolved by the column's ``key_as``."""
    if column.key_as:
        return sql.SQL(column.key_as).format(value=value(column.name))
    return value(column.name)


def _expected(column: Column, formats: ValueFormats) -> str:
    if column.type in ("date", "timestamp"):
        return f" (expected {formats.expected(column.name, column.type)})"
    return ""  # a number has one form (plain digits) and true/false a few words: the noun says it


def column_checks(column: Column, required: bool, formats: ValueFormats = DEFAULT) -> list[sql.Composable]:
    """Checks of one column over ``prepared_rows`` (values already trimmed, type tests made)."""
    v = sql.Identifier(column.name)
    checks: list[sql.Composable] = []
    if required:
        checks.append(
            sql.SQL("case when {} is null then {} end").format(v, sql.Literal(f"missing {column.name}"))
        )
    if column.type != "text":
        checks.append(
            sql.SQL("case when not {ok} then format({msg}, {v}) end").format(
                v=v,
                ok=validity_flag(column.name, column.sql_type),
                msg=sql.Literal(
                    f"{column.name} is not {TYPE_NOUNS[column.type]}: %s{_expected(column, formats)}"
                ),
            )
        )
    if column.codes:
        checks.append(
            sql.SQL("case when {v} <> all({codes}) then format({msg}, {v}) end").format(
                v=v,
                codes=sql.Literal(list(column.codes)),
                msg=sql.Literal(f"unknown {column.name} code: %s (allowed: {', '.join(column.codes)})"),
            )
        )
    if column.pattern:
        checks.append(
            sql.SQL("case when {v} !~ {p} then format({msg}, {v}) end").format(
                v=v,
                p=sql.Literal(column.pattern),
                msg=sql.Literal(f"{column.name} is not in the expected form: %s"),
            )
        )
    for bound, op, word in ((column.min_value, "<", "below"), (column.max_value, ">", "above")):
        if bound is not None:
            checks.append(
                sql.SQL("case when {typed} {op} {b} then format({msg}, {v}) end").format(
                    v=v,
                    typed=prepared(column),
                    op=sql.SQL(op),
                    b=sql.Literal(bound),
                    msg=sql.Literal(f"{column.name} {word} {_bound(bound)}: %s"),
                )
            )
    if column.decimal_places is not None:
        checks.append(
            sql.SQL("case when {typed} <> round({typed}, {n}) then format({msg}, {v}) end").format(
                v=v,
                typed=prepared(column),
                n=sql.Literal(column.decimal_places),
                msg=sql.Literal(f"{column.name} has more than {column.decimal_places} decimal places: %s"),
            )
        )
    return checks


def _bound(bound: float) -> str:
    """A bound as a message shows it: 100, 0.5; a large one with separators (10,000,000, not 1e+07)."""
    return f"{bound:g}" if abs(bound) < 1e6 else f"{bound:,.0f}"


def _all_valid(columns: list[Column]) -> sql.Composable:
    """Every one of ``columns`` present and read as its type."""
    return sql.SQL(" and ").join(sql.SQL("{} is not null").format(prepared(c)) for c in columns)


def rule_checks(contract: TableContract, header: list[str]) -> list[sql.Composable]:
    checks = []
    for rule in contract.rules:
        if not set(rule.columns) <= set(header):
            continue  # an optional column the extract does not carry: nothing to compare
        columns = [contract.column(name) for name in rule.columns]
        violation = sql.SQL(rule.violation).format(**{c.name: prepared(c) for c in columns})
        checks.append(
            sql.SQL("case when {} and ({}) then {} end").format(
                _all_valid(columns), violation, sql.Literal(rule.reason)
            )
        )
    return checks


def duplicate_keys(contract: TableContract, rows: sql.Composable) -> sql.Composable:
    """The ``_row_number`` of every row whose key appears more than once in ``rows``.

    A hash aggregate finds the (usually no) duplicated keys; only their rows are then looked up, which
    costs far less than a window over every row.
    """
    keys = sql.SQL(", ").join(key_value(contract.column(k)) for k in contract.key)
    return sql.SQL(
        "select r._row_number from {rows} r where ({keys}) in "
        "(select {keys} from {rows} r group by {keys} having count(*) > 1)"
    ).format(rows=rows, keys=keys)


def duplicate_key_reason(contract: TableContract) -> str:
    return f"duplicate key in batch ({', '.join(contract.key)})"


def row_checks(
    contract: TableContract, header: list[str], formats: ValueFormats = DEFAULT
) -> list[sql.Composable]:
    """Every row-level check of ``contract`` that applies to an extract with this header, over
    ``prepared_rows``."""
    known = [c for c in contract.columns if c.name in header]
    required = set(contract.required_columns)
    checks = [check for c in known for check in column_checks(c, c.name in required, formats)]
    return checks + rule_checks(contract, header)


def batch_rule_query(
    contract: TableContract, rule: BatchRule, rows: sql.Composable, formats: ValueFormats = DEFAULT
) -> sql.Composable:
    """A batch rule over ``rows``: rows that passed their checks (and held versions written back in their
    declared form), so each value is converted without testing its form again. That holds because every
    typed column of the contract an extract carries is type-checked (``_type_tests``), a rule's columns
    among them: a rule cannot name a column the row checks did not read."""
    columns = [contract.column(name) for name in rule.columns]
    return sql.SQL(rule.query).format(rows=rows, **{c.name: typed(c, formats, checked=True) for c in columns})
