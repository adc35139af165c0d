"""The Great Expectations version the custom expectation was written against.

``gx_checks.UnexpectedRowsOnceExpectation`` subclasses GX's ``UnexpectedRowsExpectation`` and its query
metric and calls their private methods (``_get_substituted_batch_subquery_from_query_and_batch_selectable``,
``_get_query_from_metric_value_kwargs``, ``_validate``) and a private module path. GX changes those
between minor versions without notice, so the expectation is pinned to the minor version it was checked
against (``pyproject.toml``: ``great-expectations>=1.24,<1.25``), and this module refuses any other at
start-up (before a run loads anything, and before ``gx_checks`` imports the private API) with a message
naming both versions: exit 2 on the command line, a failed task (no retries) in Airflow.

Moving to a new GX minor version: install it, run ``pytest tests/test_gx_checks.py``, adapt ``gx_checks``
to any change of the private API, then move ``PINNED`` and the constraint in ``pyproject.toml`` together.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from complaints_warehouse.settings import SettingsError

#: (major, minor) of great_expectations whose private API ``gx_checks`` uses.
PINNED = (1, 24)


class UnsupportedGreatExpectations(SettingsError):
    """The installed great_expectations is not the minor version the custom expectation was written for."""


def installed_version() -> str | None:
    try:
        return version("great_expectations")
    except PackageNotFoundError:
        return None


def require_pinned_gx(installed: str | None = None) -> str:
    """The installed great_expectations version; raises ``UnsupportedGreatExpectations`` unless it is the
    pinned minor version."""
    found = installed if installed is not None else installed_version()
    pinned = ".".join(map(str, PINNED))
    if found is None:
        raise UnsupportedGreatExpectations(
            f"great_expectations is not installed; the warehouse's checks need great_expectations {pinned}.x "
            "(pip install -c constraints.txt -e .)."
        )
    parts = found.split(".")
    try:
        minor = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        minor = None
    if minor != PINNED:
        raise UnsupportedGreatExpectations(
            f"great_expectations {found} is installed, but the warehouse's custom expectation "
            f"(complaints_warehouse.gx_checks) uses the private API of great_expectations {pinned}.x and is "
            f"pinned to it. Install great_expectations {pinned}.x (pip install -c constraints.txt -e .), "
            "or port gx_checks to the new version and move the pin (complaints_warehouse/gx_pin.py, "
            "pyproject.toml) after tests/test_gx_checks.py passes."
        )
    return found
