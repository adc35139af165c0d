"""Numbers, money and dates the UK way, and small-number suppression for public output.

Every figure a report shows, and every figure its data block and CSV carry, goes through here, so the
page, the JSON and the CSV always agree (and a suppressed count is suppressed in all three).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

#: What a report shows where a figure is missing (nothing to divide by, no figure published).
MISSING = "–"


def _decimal(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _round(value, places: int) -> Decimal:
    """Round half up, as people round by hand (Python's round() rounds 2.5 to 2)."""
    return _decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def count(value) -> str:
    """1234 -> "1,234"; None -> "–"."""
    if value is None:
        return MISSING
    return f"{int(_round(value, 0)):,}"


def gbp(value, pence: bool = False) -> str:
    """1234.5 -> "£1,235" (or "£1,234.50" with ``pence``); -20 -> "-£20"; None -> "–"."""
    if value is None:
        return MISSING
    amount = _round(value, 2 if pence else 0)
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}" if pence else f"{sign}£{int(abs(amount)):,}"


def pct(value, places: int = 1) -> str:
    """92.04 -> "92.0%"; None -> "–" (nothing to divide by is not 0 %)."""
    if value is None:
        return MISSING
    return f"{_round(value, places):,.{places}f}%"


def number(value, places: int = 1) -> str:
    """A rate that is not a percentage, e.g. upheld per 100,000 residents: 4.6 -> "4.6"."""
    if value is None:
        return MISSING
    return f"{_round(value, places):,.{places}f}"


def signed(value, places: int = 0, money: bool = False) -> str:
    """A change from last year: "+12", "-3", "0", "+£1,200"."""
    if value is None:
        return MISSING
    amount = _round(value, places)
    sign = "+" if amount > 0 else "-" if amount < 0 else ""
    body = gbp(abs(amount)) if money else f"{abs(amount):,.{places}f}"
    return f"{sign}{body}"


def uk_date(value: date | datetime | None) -> str:
    """29 November 2026 (no leading zero)."""
    if value is None:
        return MISSING
    return f"{value.day} {value:%B %Y}"


def uk_datetime(value: datetime | None) -> str:
    """29 November 2026, 14:05 (in the time zone the value carries)."""
    if value is None:
        return MISSING
    return f"{uk_date(value)}, {value:%H:%M}"


def month_label(value: date) -> str:
    """March 2024."""
    return f"{value:%B %Y}"


def short_month(value: date) -> str:
    """Mar 2024 (for chart axes)."""
    return f"{value:%b %Y}"


def financial_year_start(label: str) -> date:
    """ "2023/24" -> 1 April 2023; refuses anything else with a message saying what is expected."""
    try:
        start, end = label.split("/")
        first = int(start)
        if len(start) != 4 or len(end) != 2 or int(end) != (first + 1) % 100:
            raise ValueError
    except ValueError:
        raise ValueError(f"{label!r} is not a financial year like 2023/24") from None
    return date(first, 4, 1)


def slug(text: str) -> str:
    """ "2023/24" -> "2023-24"; "Children's services" -> "childrens-services" (for file names)."""
    out = "".join(c.lower() if c.isalnum() else "-" for c in text.replace("'", ""))
    return "-".join(part for part in out.split("-") if part)


@dataclass(frozen=True)
class Suppression:
    """Small-number suppression for public output: a count from 1 to ``threshold - 1`` is shown as
    "<threshold" (zero is shown: it discloses nobody), and so is a rate or an amount whose count is.

    Internal output (``public=False``) shows every figure as it is.
    """

    public: bool
    threshold: int = 5

    @property
    def label(self) -> str:
        return f"<{self.threshold}"

    #: A figure withheld by secondary suppression: not small itself, but with the totals beside it, it
    #: would let a small count be worked out (see ``secondary_suppression``).
    withheld = "[c]"

    def hides(self, value) -> bool:
        """Whether a count of ``value`` must not be shown."""
        return self.public and value is not None and 0 < _decimal(value) < self.threshold

    def count(self, value):
        """A count for the data block or CSV: the number, or "<5" when suppressed."""
        return self.label if self.hides(value) else plain(value)

    def derived(self, value, base):
        """A rate or amount for the data block or CSV: suppressed when the count it rests on is."""
        return self.label if self.hides(base) else plain(value)

    def show_count(self, value) -> str:
        return self.label if self.hides(value) else count(value)

    def show_pct(self, value, base, places: int = 1) -> str:
        return self.label if self.hides(base) else pct(value, places)

    def show_gbp(self, value, base) -> str:
        return self.label if self.hides(base) else gbp(value)

    def note(self) -> str:
        if not self.public:
            return "Internal: every figure is shown as recorded; not for publication."
        return (
            f"Public: counts from 1 to {self.threshold - 1} are shown as “{self.label}”, and so are "
            "the rates and amounts that rest on them, to protect the people they are about; "
            f"“{self.withheld}” marks a figure withheld so that such a count cannot be worked out "
            "from the totals."
        )


def plain(value):
    """A figure as JSON/CSV carries it: whole numbers as int, others as float, None as null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    d = _decimal(value)
    return int(d) if d == d.to_integral_value() else float(d)


def show(value, kind: str) -> str:
    """A figure from a (possibly suppressed) record, formatted: a suppressed figure is already its
    label ("<5") and is shown as it is. ``kind``: count, gbp, pct, pct0 (whole percent), number or plain."""
    if isinstance(value, str):
        return value
    if kind == "plain":
        return MISSING if value is None else f"{plain(value):,}"
    if kind == "pct0":
        return pct(value, 0)
    return {"count": count, "gbp": gbp, "pct": pct, "number": number}[kind](value)


def secondary_suppression(
    values: dict, primary: set, groups: list[tuple[list, object]], same: list[tuple], threshold: int
) -> set:
    """The cells to withhold besides the ``primary`` ones (small counts), so that none of them can be
    worked out from the figures left showing.

    ``groups`` are additive tables as (members, total): the members sum to the total (directorates to
    the council, outcomes to outcomes recorded, months to the year to date). ``same`` pairs cells that
    show one figure in two places. A reader who sees a group's total knows the sum of its hidden members,
    that a primary cell is from 1 to ``threshold - 1`` and that any other hidden one is at least
    ``threshold`` (every smaller count is primary): while that pins down any hidden member (one hidden
    member alone always is), the smallest non-zero member still showing is withheld too (or, if none,
    the total), and so on across groups until nothing changes. Zeros stay shown: they disclose nobody.
    """
    hidden = set(primary)
    secondary: set = set()

    def withhold(cell) -> None:
        hidden.add(cell)
        secondary.add(cell)

    def bounds(cell) -> tuple[float, float]:
        return (1, threshold - 1) if cell in primary else (threshold, float("inf"))

    def pinned(members: list, total) -> bool:
        hid = [m for m in members if m in hidden]
        if not hid:
            return False
        known = float(values.get(total) or 0) - sum(
            float(values.get(m) or 0) for m in members if m not in hidden
        )
        spans = [bounds(m) for m in hid]
        # Each hidden member lies between its own bounds and what the others' bounds leave of the sum.
        for i, (low, high) in enumerate(spans):
            others = spans[:i] + spans[i + 1 :]
            least = max(low, known - sum(h for _, h in others))
            most = min(high, known - sum(lo for lo, _ in others))
            if least >= most:
                return True
        return False

    changed = True
    while changed:
        changed = False
        for a, b in same:
            if (a in hidden) != (b in hidden):
                withhold(b if a in hidden else a)
                changed = True
        for members, total in groups:
            if total in hidden or not pinned(members, total):
                continue
            showing = [m for m in members if m not in hidden and values.get(m)]
            withhold(min(showing, key=lambda m: values[m]) if showing else total)
            changed = True
    return secondary
