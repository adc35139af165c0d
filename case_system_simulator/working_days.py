"""Working days in England: weekends and the bank holidays of England and Wales excluded."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=4)
def _working_days(first_year: int, last_year: int) -> tuple[date, ...]:
    bank = holidays.country_holidays("GB", subdiv="ENG", years=range(first_year, last_year + 1))
    day, end, days = date(first_year, 1, 1), date(last_year, 12, 31), []
    while day <= end:
        if day.weekday() < 5 and day not in bank:
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


class WorkingDays:
    """Adds working days to dates, fast, for the years it is built for."""

    def __init__(self, first_year: int, last_year: int):
        self.days = _working_days(first_year, last_year)

    def add(self, start: date, n: int) -> date:
        """The working day ``n`` working days after ``start`` (``n`` = 0: ``start`` or the next working day)."""
        i = bisect_left(self.days, start)
        return self.days[min(i + n, len(self.days) - 1)]

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        return bisect_left(self.days, end + timedelta(days=1)) - bisect_left(
            self.days, start + timedelta(days=1)
        )
