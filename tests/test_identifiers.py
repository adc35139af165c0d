"""Names from configuration never reach SQL unchecked: a malicious one is refused, naming where it came from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingestion.identifiers import UnsafeIdentifier, checked_identifier, is_identifier
from ingestion.source_config import SourceConfigError, load_source_config

PROJECT_DIR = Path(__file__).resolve().parents[1]
MALICIOUS = "cases; drop table x"
BASE = "contract: case_system\nadapter: sql\nurl: postgresql://h/db\n"


@pytest.mark.parametrize(
    "text",
    [
        f"source_system: '{MALICIOUS}'\n{BASE}tables: {{}}\n",
        f"source_system: cfs\nreplaces: '{MALICIOUS}'\n{BASE}tables: {{}}\n",
        f"source_system: cfs\n{BASE}tables:\n  representations:\n    from: '{MALICIOUS}'\n",
        f"source_system: cfs\n{BASE}tables:\n  representations:\n    from: 'a.b.c'\n",
        f"source_system: cfs\n{BASE}tables:\n  stages:\n    columns: {{stage: '{MALICIOUS}'}}\n",
        f'source_system: cfs\n{BASE}tables:\n  stages:\n    columns: {{stage: "x\\"; drop table y; --"}}\n',
    ],
)
def test_a_source_file_with_a_malicious_name_is_refused_naming_the_file(tmp_path, text):
    path = tmp_path / "council.yml"
    path.write_text(text)
    with pytest.raises(SourceConfigError) as error:
        load_source_config(path)
    assert str(path) in str(error.value) and "is not a plain SQL name" in str(error.value)


def test_the_command_line_refuses_it_as_a_settings_problem(tmp_path, monkeypatch, capsys):
    from complaints_warehouse import cli

    path = tmp_path / "council.yml"
    path.write_text(f"source_system: cfs\n{BASE}tables:\n  representations:\n    from: '{MALICIOUS}'\n")
    monkeypatch.setenv("WAREHOUSE_SOURCES", str(path))
    assert cli.main(["load", "cfs"]) == cli.EXIT_SETTINGS
    assert str(path) in capsys.readouterr().err


def test_an_ombudsman_mapping_with_a_malicious_column_is_refused_naming_the_file(tmp_path):
    from ingestion.ombudsman.normalise import MAPPINGS_DIR, Mapping

    shutil.copy(MAPPINGS_DIR / "decisions.yml", tmp_path / "decisions.yml")
    text = (tmp_path / "decisions.yml").read_text()
    (tmp_path / "decisions.yml").write_text(
        text.replace("headers:\n", f"headers:\n  '{MALICIOUS}': [evil]\n", 1)
    )
    with pytest.raises(UnsafeIdentifier) as error:
        Mapping.load("decisions", tmp_path)
    assert str(tmp_path / "decisions.yml") in str(error.value) and MALICIOUS in str(error.value)
    assert Mapping.load("decisions").version >= 1  # the real mapping passes


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WAREHOUSE_EMBEDDED_DATABASE", MALICIOUS),
        ("WAREHOUSE_EMBEDDED_DATABASE", "café"),
        ("WAREHOUSE_ROLE_PREFIX", "a b"),
    ],
)
def test_settings_that_become_sql_names_are_checked(monkeypatch, variable, value):
    from complaints_warehouse.settings import SettingsError, load_settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_identifier_pattern():
    assert all(is_identifier(n) for n in ("cases", "_x", "Case_2", "a" * 63))
    assert not any(is_identifier(n) for n in ("", "2cases", "a b", 'a"b', "a;b", "é", "a" * 64, None))
    assert checked_identifier("rms.cases", "table", "here", dotted=True) == "rms.cases"
    with pytest.raises(UnsafeIdentifier, match="here: table"):
        checked_identifier("rms.cases.x", "table", "here", dotted=True)


def test_no_sql_is_built_by_formatting_a_name_into_a_string():
    """Statements are composed with psycopg.sql; an f-string that starts a statement is a regression."""
    import re

    statement = re.compile(r"""\bf["'](?:select|insert|update|delete|create|drop|alter|copy|grant)\b""", re.I)
    allowed = {
        # The copy wrapper around a query SQLAlchemy compiled from reflected tables and bound literals.
        "ingestion/adapters/sql_adapter.py",
        # GX expectations are SQL strings; their names are the contracts' constants, checked below.
        "expectations/define.py",
        # The same expectations' query, as GX substituted it, wrapped to be counted and sampled at once.
        "complaints_warehouse/gx_checks.py",
    }
    offenders = [
        f"{path.relative_to(PROJECT_DIR)}:{n}"
        for folder in ("complaints_warehouse", "ingestion", "case_system_simulator", "expectations", "dags")
        for path in (PROJECT_DIR / folder).rglob("*.py")
        if str(path.relative_to(PROJECT_DIR)) not in allowed
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if statement.search(line)
    ]
    assert offenders == []


def test_every_contract_name_is_a_plain_sql_name():
    from complaints_warehouse.load import SOURCES

    for tables in SOURCES.values():
        for table in tables:
            assert is_identifier(table.name) and is_identifier(table.raw_schema), table.qualified_name
            assert all(is_identifier(name) for name, _ in table.stored_columns()), table.qualified_name
