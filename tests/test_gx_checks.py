"""The checkpoint's SQL check (``gx_checks.UnexpectedRowsOnceExpectation``), run by GX on a real table:
one query gives the same result GX's two would, the count of every unexpected row and a sample."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def run_check(warehouse, sql):
    """Run one check against ``scratch.numbers`` (n = 1..250) through an ephemeral GX context."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    from complaints_warehouse.gx_checks import UnexpectedRowsOnceExpectation

    sql("create schema if not exists scratch")
    sql("create table scratch.numbers as select n from generate_series(1, 250) n")
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_sql(name="w", connection_string=warehouse.sqlalchemy_url("psycopg2"))
    batch = asset.add_table_asset(name="numbers", table_name="numbers", schema_name="scratch")
    definition = batch.add_batch_definition_whole_table("all")

    def run(query: str) -> dict:
        result = definition.get_batch().validate(
            UnexpectedRowsOnceExpectation(unexpected_rows_query=query, description="check"),
            result_format="COMPLETE",
        )
        return {"success": result.success, **result.result}

    return run


def test_a_check_with_no_unexpected_rows_passes_with_zero_observed(run_check):
    result = run_check("select * from {batch} where n > 250")
    assert result["success"] is True
    assert result["observed_value"] == 0
    assert result["details"]["unexpected_rows"] == []


def test_a_failing_check_counts_every_row_and_samples_the_first_ones(run_check):
    from great_expectations.constants import MAX_RESULT_RECORDS

    result = run_check("select n, n * 2 as twice from {batch} where n > 10")
    assert result["success"] is False
    assert result["observed_value"] == 240  # every row, though the sample stops at GX's limit
    rows = result["details"]["unexpected_rows"]
    assert len(rows) == MAX_RESULT_RECORDS < 240
    assert set(rows[0]) == {"n", "twice"}  # the count's own column is not part of a row
    assert all(row["twice"] == 2 * row["n"] and row["n"] > 10 for row in rows)


def test_the_checkpoint_context_reaches_the_warehouse_without_writing_the_environment(settings, warehouse):
    """The committed context's ``${GX_WAREHOUSE_URL}`` is filled in from the settings as GX's runtime
    environment (validate.gx_context): the data source connects, and os.environ is left as it was."""
    import os

    from complaints_warehouse import validate

    before = dict(os.environ)
    context = validate.gx_context(settings.expectations_dir, warehouse)
    source = context.data_sources.get("warehouse")
    with source.get_engine().connect() as conn:
        assert conn.exec_driver_sql("select current_database()").scalar() == warehouse.dbname
    assert dict(os.environ) == before
    assert validate.GX_URL_VARIABLE not in os.environ
