"""A republished Ombudsman file replaces the earlier figures of each authority and year, whatever spelling
it uses for the authority; a file put back as it was (the republication withdrawn) is current again.

Figures are keyed by the authority a published name resolves to (its ONS code, through the reference
names and variants) and the financial year: in the loader's index of current versions, and in the
staging model every Ombudsman fact is built from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from complaints_warehouse import load, transform
from complaints_warehouse.settings import PROJECT_DIR

REFERENCE_DIR = PROJECT_DIR / "ingestion" / "reference" / "data"
HEADER = (
    "Authority,Authority type,Year,Detailed investigations,Upheld,Not upheld,Uphold rate (%),"
    "Satisfactory remedy provided by authority,Satisfactory remedy rate (%)"
)
ORIGINAL = f"{HEADER}\nWorcestershire County Council,County council,2022-23,24,22,2,92,0,0\n"
REPUBLISHED = f"{HEADER}\nWorcestershire CC,County council,2022/23,25,22,3,88,0,0\n"
QUIET = {"echo": lambda line: None}
STAGING = "stg_ombudsman__annual_statistics"


@pytest.fixture
def reference(warehouse):
    return load.load_source(warehouse, "reference", REFERENCE_DIR)


def deliver(folder: Path, text: str, warehouse):
    """The Ombudsman folder holding ``text`` as its annual statistics, loaded as a night loads it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annual_statistics.csv").write_text(text)
    (result,) = load.load_source(warehouse, "ombudsman", folder)
    return result


def staged(sql) -> list[tuple]:
    return sql(
        "select authority_year_key, authority_name, detailed_investigations "
        "from staging.stg_ombudsman__annual_statistics order by 1"
    )


def test_a_republished_file_with_a_name_variant_replaces_the_authority_year(
    tmp_path, settings, warehouse, reference, sql
):
    deliver(tmp_path / "ombudsman", ORIGINAL, warehouse)
    republished = deliver(tmp_path / "ombudsman", REPUBLISHED, warehouse)
    assert (republished.status, republished.rows_loaded, republished.rows_quarantined) == ("loaded", 1, 0)

    # One current version of the authority's year in the loader's index, keyed by the authority.
    assert sql("select count(*) from raw_ombudsman.annual_statistics__current") == [(1,)]

    for command in (["run", "--select", "+fct_ombudsman_annual_statistics"], ["test", "--select", STAGING]):
        built = transform.run_dbt(settings, warehouse, command, **QUIET)
        assert built.success, built.failures
    assert staged(sql) == [("E10000034 2022/23", "Worcestershire CC", 25)]
    assert sql(
        "select authority_year_key, published_authority_name, detailed_investigations, published_uphold_rate_pct "
        "from marts.fct_ombudsman_annual_statistics"
    ) == [("E10000034 2022/23", "Worcestershire CC", 25, 88)]


def test_a_file_put_back_as_it_was_is_current_again(tmp_path, settings, warehouse, reference, sql):
    original = deliver(tmp_path / "ombudsman", ORIGINAL, warehouse)
    deliver(tmp_path / "ombudsman", REPUBLISHED, warehouse)
    # The same file again, unchanged since: nothing to do.
    again = deliver(tmp_path / "ombudsman", REPUBLISHED, warehouse)
    assert again.status == "skipped"

    restored = deliver(tmp_path / "ombudsman", ORIGINAL, warehouse)
    assert (restored.status, restored.rows_loaded, restored.rows_unchanged) == ("loaded", 1, 0), (
        restored.message
    )
    assert restored.batch_id > original.batch_id

    built = transform.run_dbt(
        settings,
        warehouse,
        ["run", "--select", "+stg_ombudsman__annual_statistics", *transform.scope_vars(True)],
        **QUIET,
    )
    assert built.success, built.failures
    assert staged(sql) == [("E10000034 2022/23", "Worcestershire County Council", 24)]
    # Loaded once more, it is current already: skipped.
    assert deliver(tmp_path / "ombudsman", ORIGINAL, warehouse).status == "skipped"


def test_two_spellings_of_one_authority_year_in_one_file_are_duplicates(tmp_path, warehouse, reference, sql):
    both = ORIGINAL + "Worcestershire CC,County council,2022/23,25,22,3,88,0,0\n"
    result = deliver(tmp_path / "ombudsman", both, warehouse)
    assert (result.rows_loaded, result.rows_quarantined) == (0, 2)
    assert sql(
        "select distinct unnest(reasons) from audit.quarantine where batch_id = %s", (result.batch_id,)
    ) == [("duplicate key in batch (authority_name, financial_year)",)]
