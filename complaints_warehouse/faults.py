"""Test-only fault injection: kill (or stop) the pipeline at a named point, to prove it is crash-safe.

Nothing here acts unless a test sets one of two environment variables; a normal run pays one dictionary
lookup per point. Never set them in production.

``WAREHOUSE_CRASH_AT=<point>``  the process SIGKILLs itself on reaching the point: no clean-up, no
                                ``finally``, exactly what the OOM killer or a pulled plug does.
``WAREHOUSE_PAUSE_AT=<point>``  the process SIGSTOPs itself there (once), so a test can act from outside
                                -- drop its database connection, start a second run, kill it -- and
                                then SIGCONT or SIGKILL it.

A point is named ``<name>`` (the first time it is reached) or ``<name>#<n>`` (the n-th time). The points
(``tests/test_crash_safety.py`` kills at each):

* ``after-load``, ``after-transform``, ``after-validate``, ``after-publish``: the step boundaries of
  ``pipeline.run_all``;
* ``mid-copy``: inside a COPY into the landing table, after its first chunk (``pipeline.progress_printer``);
* ``mid-dbt:<model>``: as dbt reports it has started building ``<model>`` (``transform``; the kill
  takes dbt with it, see ``child_process``);
* ``mid-publish``: inside the publication's transaction, between the version and its figures.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_AT = "WAREHOUSE_CRASH_AT"
PAUSE_AT = "WAREHOUSE_PAUSE_AT"

_reached: Counter[str] = Counter()


def armed() -> bool:
    """Whether a test asked for a fault in this process (lets a caller skip work a point would need)."""
    return CRASH_AT in os.environ or PAUSE_AT in os.environ


def crash_point(name: str) -> None:
    """Kill or stop this process here if the environment names this point; otherwise do nothing."""
    if not armed():
        return
    _reached[name] += 1
    if _names(os.environ.get(CRASH_AT), name, _reached[name]):
        os.kill(os.getpid(), signal.SIGKILL)
    if _names(os.environ.get(PAUSE_AT), name, _reached[name]):
        os.kill(os.getpid(), signal.SIGSTOP)  # a resumed process runs on: the n-th arrival only


def _names(point: str | None, name: str, count: int) -> bool:
    """Whether ``point`` (``name`` or ``name#n``) means this, the ``count``-th arrival at ``name``."""
    if not point:
        return False
    wanted, _, nth = point.partition("#")
    return wanted == name and count == int(nth or 1)
