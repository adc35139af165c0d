"""Source configuration files: a council's system plugs in by YAML, and a wrong file says what is wrong."""

from __future__ import annotations

import pytest

from ingestion.source_config import SourceConfigError, load_source_config

BASE = "source_system: cfs\ncontract: case_system\nadapter: sql\nurl: postgresql://h/db\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("contract: case_system\nadapter: sql\ntables: {}\n", "missing 'source_system'"),
        (BASE.replace("case_system", "housing") + "tables: {}\n", "unknown contract 'housing'"),
        (BASE.replace("adapter: sql", "adapter: ftp") + "tables: {}\n", "unknown adapter 'ftp'"),
        (BASE + "tables:\n  tenancies: {}\n", "table 'tenancies' is not in the case_system contract"),
        (BASE + "tables:\n  representations:\n    columns: {colour: hue}\n", "'colour' is not a column"),
        (BASE + "tables:\n  representations:\n    from: 'cases; drop table x'\n", "is not a plain SQL name"),
        (
            BASE + "tables:\n  representations:\n    columns: {status: 'st\"atus'}\n",
            "is not a plain SQL name",
        ),
        (
            BASE + "tables:\n  representations:\n    codes: {status: {O: ongoing}}\n",
            "maps to unknown code(s) ongoing",
        ),
        (BASE + "tables:\n  representations:\n    codes: {directorate: {A: b}}\n", "which has no codes"),
        (
            BASE.replace("postgresql://h/db", "${NO_SUCH_VARIABLE_HERE}") + "tables: {}\n",
            "${NO_SUCH_VARIABLE_HERE}",
        ),
        ("source_system: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_wrong_configuration_names_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "source.yml"
    path.write_text(text)
    with pytest.raises(SourceConfigError) as error:
        load_source_config(path)
    assert str(path) in str(error.value) and problem in str(error.value)


def test_the_demo_mapping_covers_the_whole_contract():
    from pathlib import Path

    config = load_source_config(
        Path(__file__).resolve().parents[1] / "ingestion" / "sources" / "case_system_simulator.yml"
    )
    assert [t.contract.name for t in config.tables] == [
        "service_areas",
        "complainants",
        "representations",
        "complaint_points",
        "stages",
        "remedies",
        "payments",
        "ombudsman_cases",
    ]
    assert config.table("stages").codes["stage"]["LGO"] == "ombudsman"


def test_a_sql_source_missing_a_required_column_is_refused(settings, warehouse, tmp_path, monkeypatch):
    import psycopg

    from complaints_warehouse import load
    from ingestion.copy_loader import RefusedFile

    with psycopg.connect(warehouse.conninfo, autocommit=True) as conn:
        conn.execute(
            "create schema vendor; create table vendor.cases (case_ref text, modified_at timestamptz)"
        )
    path = tmp_path / "vendor.yml"
    path.write_text(
        "source_system: vendor\ncontract: case_system\nadapter: sql\nurl: warehouse-server:"
        + warehouse.dbname
        + "\n"
        "tables:\n  representations:\n    from: vendor.cases\n    columns: {representation_id: case_ref, updated_at: modified_at}\n"
    )
    with pytest.raises(
        RefusedFile, match="vendor:vendor.cases: missing required column 'representation_type'"
    ):
        load.load_source_system(settings, warehouse, load_source_config(path))


def test_the_contract_document_is_the_contract_in_code():
    from pathlib import Path

    from ingestion.contract_doc import render

    committed = (
        Path(__file__).resolve().parents[1] / "ingestion" / "case_system" / "CONTRACT.md"
    ).read_text()
    assert committed == render("case_system"), (
        "run: python -m ingestion.contract_doc case_system > ingestion/case_system/CONTRACT.md"
    )
    for column in (
        "representation_id",
        "complainant_id",
        "investigation_cost",
        "ombudsman_reference",
        "valid_to",
    ):
        assert f"`{column}`" in committed
