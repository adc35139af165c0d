"""One hierarchy of errors, one table: the command line's exit code and Airflow's retry-or-fail both follow
an error's base class (``complaints_warehouse.errors``), so the two drivers cannot drift apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from complaints_warehouse import errors, orchestration
from complaints_warehouse.integrity import TamperingDetected
from complaints_warehouse.known_issues import KnownIssueError
from complaints_warehouse.outputs import OutputExists, OutputNotWritten
from complaints_warehouse.publish import PublicationRefused
from complaints_warehouse.settings import SettingsError
from complaints_warehouse.transform import TransformFailed
from complaints_warehouse.validate import ValidationFailed, ValidationSummary
from complaints_warehouse.warehouse.database import WarehouseUnavailable
from complaints_warehouse.warehouse.locks import MartsBusy, RunInProgress, WarehouseBusy
from ingestion.copy_loader import ConnectionLost, RefusedFile
from ingestion.identifiers import UnsafeIdentifier
from ingestion.source_config import SourceConfigError

#: Each error the drivers meet: (an instance, the CLI's exit code, whether Airflow fails at once).
CASES = [
    (SettingsError("WAREHOUSE_X is wrong"), 2, True),
    (KnownIssueError("no such expectation"), 2, True),
    (SourceConfigError(Path("rms.yml"), "no tables"), 2, True),
    (UnsafeIdentifier("cases; drop table x"), 2, True),
    (OutputExists(Path("out.json")), 2, True),
    (RefusedFile("x.csv", "empty"), 3, True),
    (TransformFailed("dbt failed"), 1, True),
    (ValidationFailed(ValidationSummary("run", "nightly", False, 1, 0)), 1, True),
    (PublicationRefused("validation failed"), 1, True),
    (TamperingDetected([], "Publication"), 5, True),
    (WarehouseUnavailable("cannot connect"), 2, False),
    (OutputNotWritten(Path("out.json"), "disk full"), 2, False),
    (WarehouseBusy("busy"), 4, False),
    (RunInProgress("another run"), 4, False),
    (MartsBusy("another build"), 4, False),
    (ConnectionLost(None, OSError("reset")), 1, False),
]


@pytest.mark.parametrize(("error", "code", "permanent"), CASES, ids=[type(c[0]).__name__ for c in CASES])
def test_every_error_maps_by_its_base_class_for_both_drivers(error, code, permanent):
    from airflow.sdk.exceptions import AirflowFailException

    assert isinstance(error, errors.WarehouseError)
    assert isinstance(error, errors.PermanentError if permanent else errors.TransientError)
    assert errors.exit_code(error) == code
    raised = orchestration.fail_fast(error)
    assert isinstance(raised, AirflowFailException) if permanent else raised is error


def test_the_exit_code_table_is_the_one_the_cli_documents():
    assert {kind.__name__: code for kind, code in errors.EXIT_CODES.items()} == {
        "ConfigError": 2,
        "InputRefused": 3,
        "StepFailed": 1,
        "Tampered": 5,
        "Unavailable": 2,
        "Busy": 4,
    }
    assert all(issubclass(kind, errors.PermanentError | errors.TransientError) for kind in errors.EXIT_CODES)


def test_the_cli_prints_a_warehouse_error_and_exits_with_its_code(monkeypatch, capsys):
    from complaints_warehouse import cli
    from complaints_warehouse.cli import publication

    def refuse(args, settings):
        raise TamperingDetected([], "Publication")

    monkeypatch.setattr(publication, "cmd_verify", refuse)
    assert cli.main(["verify"]) == cli.EXIT_TAMPERED
    assert capsys.readouterr().err.startswith("error: ")


def test_errors_keep_their_old_builtin_bases():
    """Code that catches ValueError, RuntimeError or FileExistsError still catches them."""
    assert isinstance(RefusedFile("x.csv", "empty"), ValueError)
    assert isinstance(SettingsError("x"), ValueError)
    assert isinstance(WarehouseUnavailable("x"), RuntimeError)
    assert isinstance(OutputExists(Path("x")), FileExistsError)
