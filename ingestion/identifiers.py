"""Names that reach SQL from configuration (source files, mappings, settings) must be plain SQL names.

They are checked here against one strict pattern and then always quoted with ``psycopg.sql.Identifier``
(or reflected by SQLAlchemy), never pasted into a statement: a name such as ``cases; drop table x`` is
refused with a message naming where it came from.
"""

from __future__ import annotations

import re

from complaints_warehouse.errors import ConfigError

#: Letters, digits and underscores, not starting with a digit; at most PostgreSQL's 63 bytes.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class UnsafeIdentifier(ConfigError, ValueError):
    """A name from configuration that is not a plain SQL name; the message says where it came from."""


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and IDENTIFIER.match(value) is not None


def checked_identifier(value: object, what: str, where: str, *, dotted: bool = False) -> str:
    """``value`` if it is a plain SQL name (``schema.table`` too when ``dotted``), else raise naming
    ``what`` it is and ``where`` it came from (a file or a setting)."""
    text = str(value)
    parts = text.split(".") if dotted else [text]
    if len(parts) > 2 or not all(is_identifier(p) for p in parts):
        raise UnsafeIdentifier(
            f"{where}: {what} {text!r} is not a plain SQL name "
            "(letters, digits and underscores, not starting with a digit, at most 63 characters)"
        )
    return text
