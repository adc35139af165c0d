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
    """One column of a source table."""

    name: str
    type: str = "text"
    required: bool = False
    codes: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in SQL_TYPES:
            raise ValueError(
                f"column {self.name}: unknown type {self.type!r}; use one of {sorted(SQL_TYPES)}"
            )

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class RowRule:
    """A rule across columns, as a SQL condition that is true when the row breaks it.

    ``columns`` are the columns it reads: the rule is only evaluated once each of them has a valid value,
    so it may cast them freely (``{closed_date}`` is replaced with the typed value of that column).
    """

    reason: str
    violation: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableContract:
    """What one table of a source must contain."""

    source: str
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    rules: tuple[RowRule, ...] = field(default=())

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        for name in [*self.key, *(c for r in self.rules for c in r.columns)]:
            if name not in names:
                raise ValueError(f"{self.qualified_name}: {name!r} is used but not a column")

    @property
    def qualified_name(self) -> str:
        return f"{self.source}.{self.name}"

    @property
    def raw_schema(self) -> str:
        return f"raw_{self.source}"

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required or c.name in self.key]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)
