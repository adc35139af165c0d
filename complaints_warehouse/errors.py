"""The warehouse's errors: one hierarchy, and one table of what each kind means to its two drivers.

Every error a user or operator can cause is a ``WarehouseError`` whose message says what happened and
what to do. Its base class decides everything else:

* ``PermanentError``: a retry cannot fix it (a setting, a refused file, a failing check, tampering).
  Airflow fails the task at once (``orchestration.fail_fast``) instead of retrying.
* ``TransientError``: a retry may (the warehouse unreachable or busy, a full disk). Airflow retries.

The command line exits with the ``exit_code`` of the error's class (``EXIT_CODES`` below, the one table):

====  =========================================================================================
0     success
1     a step failed (``StepFailed``: dbt errors, failing expectations, publication refused)
2     a setting is wrong (``ConfigError``) or the warehouse or an output cannot be reached (``Unavailable``)
3     an input file was refused whole (``InputRefused``)
4     another run holds the warehouse; nothing was changed (``Busy``)
5     the published record has been tampered with (``Tampered``)
====  =========================================================================================

The concrete errors live beside the code that raises them (``settings.SettingsError``,
``ingestion.copy_loader.RefusedFile``, ``warehouse.locks.WarehouseBusy`` ...) and subclass one of these.
This module imports nothing of the project: every floor may use it (``tests/test_package_layers.py``).
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS, EXIT_REFUSED, EXIT_BUSY, EXIT_TAMPERED = 0, 1, 2, 3, 4, 5


class WarehouseError(Exception):
    """An error the warehouse explains in its message (never a traceback for the user)."""

    exit_code = EXIT_FAILED


class PermanentError(WarehouseError):
    """A retry cannot fix it: Airflow fails the task at once."""


class TransientError(WarehouseError):
    """A retry may fix it: Airflow retries the task."""


class ConfigError(PermanentError):
    """A setting, a source configuration or a name from configuration is wrong (exit 2)."""

    exit_code = EXIT_SETTINGS


class InputRefused(PermanentError):
    """An input file is not the contract at all and was refused whole (exit 3)."""

    exit_code = EXIT_REFUSED


class StepFailed(PermanentError):
    """A step ran and failed: dbt errors or tests, expectations, publication refused (exit 1)."""

    exit_code = EXIT_FAILED


class Tampered(PermanentError):
    """The published record was changed outside publication (exit 5)."""

    exit_code = EXIT_TAMPERED


class Unavailable(TransientError):
    """The warehouse cannot be reached, or an output cannot be written (exit 2)."""

    exit_code = EXIT_SETTINGS


class Busy(TransientError):
    """Another run holds what this one needs; nothing was changed (exit 4)."""

    exit_code = EXIT_BUSY


#: The one table: each kind of error and the command line's exit code (Airflow maps by
#: ``PermanentError`` / ``TransientError``, the two roots).
EXIT_CODES: dict[type[WarehouseError], int] = {
    kind: kind.exit_code for kind in (ConfigError, InputRefused, StepFailed, Tampered, Unavailable, Busy)
}


def exit_code(error: WarehouseError) -> int:
    """The command line's exit code for ``error``: its nearest kind's in ``EXIT_CODES``."""
    for kind in type(error).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return EXIT_FAILED


def is_permanent(error: BaseException) -> bool:
    """Whether a retry cannot fix ``error`` (Airflow fails the task at once)."""
    return isinstance(error, PermanentError)
