"""Bad-input catalogue entries of the Ombudsman's national sheet as laid out for publication (issue 16):
title lines above the header, footnotes under the councils, the year only in the title, rates written
as fractions. Each is read as published, never refused and never guessed (docs/ombudsman-national.md).
"""

from __future__ import annotations

from . import builders as b
from .builders import Delivery
from .catalogue import STATS_HEADER, STATS_ROWS, Accepted, BadInput, BuildContext

TITLE = "Local Government and Social Care Ombudsman: complaint and decision statistics"
FOOTNOTE = "- no figure published"


def _titled_and_footnoted(ctx: BuildContext) -> Delivery:
    body = b.csv_text(STATS_HEADER, STATS_ROWS[:2])
    path = b.write(ctx.folder, "annual_statistics.csv", f"{TITLE}\n\n{body}{FOOTNOTE}\n")
    return Delivery(file=path, table="annual_statistics")


def _year_in_title(ctx: BuildContext) -> Delivery:
    keep = [i for i, h in enumerate(STATS_HEADER) if h != "Year"]
    worcestershire = STATS_ROWS[1]  # 2022-23
    text = b.csv_text([STATS_HEADER[i] for i in keep], [[worcestershire[i] for i in keep]])
    path = b.write(ctx.folder, "annual_statistics.csv", f"Annual review data 2022-23\n{text}")
    return Delivery(file=path, table="annual_statistics")


def _rates_as_fractions(ctx: BuildContext) -> Delivery:
    column = STATS_HEADER.index("Uphold rate (%)")
    rows = [r[:column] + [f"{int(r[column]) / 100:g}"] + r[column + 1 :] for r in STATS_ROWS[:2]]
    path = b.write(ctx.folder, "annual_statistics.csv", b.csv_text(STATS_HEADER, rows))
    return Delivery(file=path, table="annual_statistics")


ENTRIES: tuple[BadInput, ...] = (
    BadInput(
        "stats-national-title-and-footnotes",
        "Ombudsman statistics",
        "ombudsman",
        "a title line above the header and a footnote under the councils (one cell each)",
        _titled_and_footnoted,
        Accepted(2),
        notes="Set aside and logged: a title or footnote is not a council.",
    ),
    BadInput(
        "stats-national-year-in-title",
        "Ombudsman statistics",
        "ombudsman",
        "a one-year sheet with no Year column, the year only in its title (`Annual review data 2022-23`)",
        _year_in_title,
        Accepted(1),
        notes="The one financial year the title or sheet name gives is every row's year.",
    ),
    BadInput(
        "stats-rates-as-fractions",
        "Ombudsman statistics",
        "ombudsman",
        "an uphold-rate column written as fractions (`0.92` for 92 %)",
        _rates_as_fractions,
        Accepted(2),
        notes="Every value between 0 and 1 and one not whole: whole-percent rates, read as percent.",
    ),
)
