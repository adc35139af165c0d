"""Bad-input catalogue entries of the Ombudsman's real publication layout (issue 16).

The published national file spells "Upheld decisions per 100,000 residents" (with the comma), carries the
similar authorities' "Average compliance rate (%)", and may carry columns no mapping knows: the first two
are mapped, the last kept in ``_extra`` and reported, never a reason to refuse the file.
"""

from __future__ import annotations

from . import builders as b
from .builders import Delivery
from .catalogue import STATS_HEADER, STATS_ROWS, Accepted, BadInput, BuildContext

RENAMED = {
    "Upheld per 100,000 residents": "Upheld decisions per 100,000 residents",
    "Average upheld per 100,000 residents": "Average upheld decisions per 100,000 residents",
}


def _published_2023_24_layout(ctx: BuildContext) -> Delivery:
    header = [RENAMED.get(h, h) for h in STATS_HEADER] + ["Average compliance rate (%)", "Notes"]
    rows = [row + ["99", "as published"] for row in STATS_ROWS[:2]]
    path = b.write(ctx.folder, "annual_statistics.csv", b.csv_text(header, rows))
    return Delivery(file=path, table="annual_statistics")


ENTRIES: tuple[BadInput, ...] = (
    BadInput(
        "stats-published-national-layout",
        "Ombudsman statistics",
        "ombudsman",
        "the national file's spellings (`Upheld decisions per 100,000 residents`, `Average compliance "
        "rate (%)`) and a column no mapping knows (`Notes`)",
        _published_2023_24_layout,
        Accepted(2, extra_columns=("unmapped_notes",)),
        notes="The known spellings are mapped (mapping version 4); the unknown column is kept as published.",
    ),
)
