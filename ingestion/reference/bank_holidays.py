"""The bank holidays of England and Wales, generated offline from the ``holidays`` package.

Written as the dbt seed ``dbt_project/seeds/bank_holidays.csv`` that ``dim_date`` reads for working days.
Regenerate after upgrading ``holidays`` (a test keeps the committed seed and this code in step)::

    python -m ingestion.reference.bank_holidays
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import holidays

FIRST_YEAR, LAST_YEAR = 2014, 2035
SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "bank_holidays.csv"


def bank_holidays(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> list[tuple[str, str]]:
    """(date, name) of every bank holiday in England (and Wales: the same days), sorted by date."""
    calendar = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    return sorted((day.isoformat(), name) for day, name in calendar.items())


def seed_text() -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["holiday_date", "holiday_name"])
    writer.writerows(bank_holidays())
    return buffer.getvalue()


def write_seed(path: Path = SEED) -> Path:
    """Write the seed file; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(seed_text())
    return path


if __name__ == "__main__":
    print(f"Wrote {write_seed()}")
