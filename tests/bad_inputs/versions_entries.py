"""Catalogue entries for versions and time: rows stamped in the future (a wrong clock, a placeholder such
as 2099 or ``infinity``) are read and quarantined, never skipped without a trace nor made current for good.

The entries that need more than one night (an older export after a newer, a correction against stages
held from an earlier night, a file reloaded with its columns reordered) are named tests in tests/test_versions.py.
"""

from __future__ import annotations

from . import builders as b
from .builders import Delivery
from .catalogue import BadInput, BuildContext, Quarantined, _sql_source

FUTURE = "updated_at is in the future"


def _sql_future(stamp: str):
    """Three cases in a source database, the third stamped ``stamp``."""

    def build(ctx: BuildContext) -> Delivery:
        header, good = b.good_case_rows("representations", 3)
        good[2]["updated_at"] = stamp
        delivery = _sql_source(
            ctx,
            columns=header,
            rows=[[r[h] for h in header] for r in good],
            mapping="    detect_deletions: false\n",
        )
        delivery.raw = {"representation_id": good[2]["representation_id"]}
        return delivery

    return build


ENTRIES: tuple[BadInput, ...] = (
    BadInput(
        "sql-updated-at-in-the-future",
        "case system rows",
        "sql",
        "a source row whose `updated_at` is in 2099 (an incremental load's window ends now)",
        _sql_future("2099-01-01T09:00:00Z"),
        Quarantined(FUTURE, loaded=2),
        notes=(
            "Read (an incremental load also reads rows stamped more than a day after its window) and "
            "quarantined, so rows in = loaded + quarantined counts it; the high-water mark does not move "
            "into the future. Rows stamped within a day after the window are left for the next load."
        ),
    ),
    BadInput(
        "sql-updated-at-infinity",
        "case system rows",
        "sql",
        "a source row whose `updated_at` is `infinity`",
        _sql_future("infinity"),
        Quarantined(FUTURE, loaded=2),
    ),
    BadInput(
        "updated-at-in-the-future",
        "case system rows",
        "landing",
        "a row of a file whose `updated_at` is in 2099",
        lambda ctx: b.case_file(ctx.folder, "representations", {"updated_at": "2099-01-01T09:00:00Z"}),
        Quarantined(FUTURE),
        notes=(
            "A file's rows are in the future when stamped more than a day after the load. Loaded, such "
            "a version would stay the current one for good (versions are ordered by `updated_at`)."
        ),
    ),
)
