"""Source contracts: the columns, types, codes and keys a source table must have to be loaded."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Contract type -> PostgreSQL type used in raw tables and for checking values.
SQL_TYPES = {
    "text": "text",
    "date": "date",
    "timestamp": "timestamptz",
    "integer": "bigint",
    "numeric": "numeric",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Column:
    """One column of a source table.

    ``pseudonymise``: the value identifies a person; raw tables keep only its pseudonym, in a column named
    ``<name without _id>_pseudonym``. ``keep_original`` keeps the value too (restricted schema only).
    ``key_as``: when the column is part of the key, rows are keyed by this SQL of its value (``{value}``),
    not by the value as written: an authority's name resolved to its ONS code, so that every spelling of
    one authority is one key. The raw table keeps the name as published and, beside it, what it
    resolved to at load, in ``<name>_resolved`` (the key's column in the current-version index too).
    """

    name: str
    type: str = "text"
    required: bool = False
    codes: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    #: A numeric column's most decimal places (2 for pounds and pence): more would be rounded away where
    #: the marts hold money as numeric(12,2), so such a row is quarantined instead.
    decimal_places: int | None = None
    pattern: str | None = None
    pseudonymise: bool = False
    keep_original: bool = False
    description: str = ""
    key_as: str | None = None

    def __post_init__(self) -> None:
        if self.type not in SQL_TYPES:
            raise ValueError(
                f"column {self.name}: unknown type {self.type!r}; use one of {sorted(SQL_TYPES)}"
            )

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def pseudonym_column(self) -> str:
        return self.name.removesuffix("_id") + "_pseudonym"

    @property
    def key_column(self) -> str:
        """Its column in the current-version index when it is part of the key."""
        if self.pseudonymise:
            return self.pseudonym_column
        return f"{self.name}_resolved" if self.key_as else self.name


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row, as SQL that is true when the row breaks it.

    ``columns`` are the columns it reads: the rule is only evaluated once each has a valid value, so it
    may use them typed (``{closed_date}`` is replaced with the typed value of that column).
    """

    reason: str
    violation: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class BatchRule:
    """A rule across rows of one batch: a query over ``{rows}`` returning the ``_row_number`` of offenders.

    Only rows that passed every row-level check are in ``{rows}``; ``{column}`` is the typed value.

    ``held_group`` (key columns, not pseudonymised): the rule also compares the batch's rows with the
    versions the warehouse already holds (current, not deleted) of the same group -- a correction that
    breaks the rule against what an earlier night loaded. Held rows are in ``{rows}`` with a null
    ``_row_number``; the query names a batch row (or null, which is ignored) for each offence.
    """

    reason: str
    query: str
    columns: tuple[str, ...]
    held_group: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableContract:
    """What one table of a source must contain."""

    source: str
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[RowRule, ...] = field(default=())
    batch_rules: tuple[BatchRule, ...] = field(default=())
    personal: bool = False

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        used = [*self.key, *(c for r in (*self.rules, *self.batch_rules) for c in r.columns)]
        for name in used:
            if name not in names:
                raise ValueError(f"{self.qualified_name}: {name!r} is used but not a column")
        if any(c.keep_original for c in self.columns) and not self.personal:
            raise ValueError(f"{self.qualified_name}: only a personal table may keep identifying values")
        for rule in (r for r in self.batch_rules if r.held_group):
            if not set(rule.held_group) <= set(self.key) <= set(rule.columns) or any(
                self.column(k).pseudonymise for k in (*self.key, *rule.columns)
            ):
                raise ValueError(
                    f"{self.qualified_name}: a batch rule's held_group must be key columns, the key among "
                    "the rule's columns, and none of them pseudonymised"
                )

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def raw_schema(self) -> str:
        """Personal data lives only in the restricted schema; everything else in ``raw_<source>``."""
        return "restricted" if self.personal else f"raw_{self.source}"

    @property
    def quarantine_table(self) -> str:
        """A refused row of personal data is personal data too: it is kept in the restricted schema."""
        return "restricted.quarantine" if self.personal else "audit.quarantine"

    @property
    def version_column(self) -> str | None:
        """The column giving the source's own time of a version (``updated_at``), if the table has one.
        The current version of a key is the one with the latest such time, then the latest batch."""
        names = {c.name: c.type for c in self.columns}
        return "updated_at" if names.get("updated_at") == "timestamp" else None

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required or c.name in self.key]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def stored_columns(self) -> list[tuple[str, str]]:
        """(raw column name, SQL type) in the raw table, after pseudonymisation."""
        stored = []
        for column in self.columns:
            if column.pseudonymise:
                stored.append((column.pseudonym_column, "text"))
                if column.keep_original:
                    stored.append((column.name, column.sql_type))
            else:
                stored.append((column.name, column.sql_type))
                if column.key_as:
                    stored.append((column.key_column, "text"))
        return stored

    @property
    def stored_key(self) -> list[str]:
        """The key as stored in the current-version index: a pseudonymised key column is keyed by its
        pseudonym, a ``key_as`` column by what it resolves to."""
        return [self.column(k).key_column for k in self.key]
