"""What the commands share: the screen, the exit codes (``complaints_warehouse.errors``), the argument types."""

from __future__ import annotations

import argparse
from datetime import date

from complaints_warehouse.errors import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SETTINGS,
    EXIT_TAMPERED,
)

__all__ = ["EXIT_BUSY", "EXIT_FAILED", "EXIT_OK", "EXIT_REFUSED", "EXIT_SETTINGS", "EXIT_TAMPERED"]

#: ``--wait`` of the commands that hold the marts (transform, validate, publish).
MARTS_WAIT = {
    "type": float,
    "default": 3600.0,
    "metavar": "SECONDS",
    "help": "if another command holds the marts (a run between its validation and publication, a build), "
    "wait up to this long (default 3600; 0: exit 4 at once)",
}


def _echo(line: str) -> None:
    print(line, flush=True)


def _month(value: str) -> str:
    try:
        date.fromisoformat(f"{value}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a month like 2024-03") from None
    return value


def _day(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a day like 2024-03-31") from None
    return value


def _financial_year(value: str) -> str:
    from complaints_warehouse.reports.formatting import financial_year_start

    try:
        financial_year_start(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value
