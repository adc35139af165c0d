"""Test-only fault injection: kill (or stop) the pipeline at a named point, to prove it is crash-safe.

A development tool, outside the product: the package only names its points
(``complaints_warehouse.fault_points``); this module installs what happens there, from two environment
variables, and runs the command line. Crash tests start the pipeline as
``python -m tools.faults run`` (any ``complaints-warehouse`` arguments) instead of ``complaints-warehouse run``.
Never set the variables in production; the installed product does not read them.

``WAREHOUSE_CRASH_AT=<point>``  the process SIGKILLs itself on reaching the point: no clean-up, no
                                ``finally``, exactly what the OOM killer or a pulled plug does.
``WAREHOUSE_PAUSE_AT=<point>``  the process SIGSTOPs itself there (once), so a test can act from outside
                                -- drop its database connection, start a second run, kill it -- and
                                then SIGCONT or SIGKILL it.

A point is named ``<name>`` (the first time it is reached) or ``<name>#<n>`` (the n-th time); the points
are listed in ``complaints_warehouse.fault_points``.
"""

from __future__ import annotations

import os
import signal
import sys
from collections import Counter

CRASH_AT = "WAREHOUSE_CRASH_AT"
PAUSE_AT = "WAREHOUSE_PAUSE_AT"

_reached: Counter[str] = Counter()


def armed() -> bool:
    """Whether a test asked for a fault in this process."""
    return CRASH_AT in os.environ or PAUSE_AT in os.environ


def crash_point(name: str) -> None:
    """Kill or stop this process here if the environment names this point; otherwise do nothing."""
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


def install() -> None:
    """Act at the product's fault points as the environment asks (nothing when it asks nothing)."""
    from complaints_warehouse import fault_points

    fault_points.install(crash_point if armed() else None)


def main(argv: list[str] | None = None) -> int:
    """``complaints-warehouse`` with the faults the environment asks for installed."""
    from complaints_warehouse import cli

    install()
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
