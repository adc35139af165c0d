"""Named points at the pipeline's step boundaries, where a crash test may inject a fault.

The product only names the points, with an explicit ``reached(name)`` call where a step ends or a
transaction is half done; it never acts on one. What happens at a point is installed from outside the
package, by the development tools (``tools/faults.py``: kill or stop the process there); in production
nothing is installed and a point costs one attribute test. The points (``tests/test_crash_safety.py``
kills at each):

* ``after-load``, ``after-transform``, ``after-validate``, ``after-publish``: the step boundaries of
  ``pipeline.run_all``;
* ``mid-copy``: inside a COPY into the landing table, after its first chunk (``ingestion.copy_loader``);
* ``mid-dbt:<model>``: as dbt reports it has started building ``<model>`` (``transform``);
* ``mid-publish``: inside the publication's transaction, between the version and its figures.
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[str], None] | None = None


def install(hook: Callable[[str], None] | None) -> None:
    """Act at every point reached from now on with ``hook(name)`` (``None``: nothing, the default)."""
    global _hook
    _hook = hook


def armed() -> bool:
    """Whether anything acts at the points (lets a caller skip work only a point would need)."""
    return _hook is not None


def reached(name: str) -> None:
    """The process has reached the point ``name``: whatever is installed acts (by default, nothing)."""
    if _hook is not None:
        _hook(name)
