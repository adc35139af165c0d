"""Start a program that dies with the pipeline: ``python -m complaints_warehouse.warehouse.child_process PID PROGRAM ...``.

dbt runs as a subprocess of the pipeline. Were the pipeline killed (SIGKILL, the OOM killer) an orphaned
dbt would go on replacing marts beside the next run's dbt. On Linux the kernel kills the child when its
parent dies (``PR_SET_PDEATHSIG``); this launcher sets that, then becomes the program (``exec``), so it
holds for dbt itself (``complaints_warehouse.dbt_worker``, one per step). Elsewhere the program just runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def command(program: str, *args: str) -> list[str]:
    """The command line that runs ``program`` as a child that dies with this process."""
    return [
        sys.executable,
        "-m",
        "complaints_warehouse.warehouse.child_process",
        str(os.getpid()),
        program,
        *args,
    ]


def main(argv: list[str]) -> None:
    parent, program, *args = argv
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != int(parent):  # the parent died before we asked: do not start at all
            sys.exit(1)
    os.execv(program, [program, *args])


if __name__ == "__main__":
    main(sys.argv[1:])
