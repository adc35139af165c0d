"""A night reads a few cases' rows out of the whole history by index: the raw tables' key indexes are
written exactly as the staging views write their keys, so a condition on a view's key reaches them."""

from __future__ import annotations

import pytest

from complaints_warehouse import pipeline, transform

pytestmark = pytest.mark.slow

QUIET = {"echo": lambda line: None}
#: (staging view, its key column) -> the raw index a condition on that key must use.
LOOKUPS = {
    ("stg_case_system__representations", "representation_key"): "representations_case_idx",
    ("stg_case_system__stages", "representation_key"): "stages_case_idx",
    ("stg_case_system__complaint_points", "point_key"): "complaint_points_key_idx",
    ("stg_case_system__remedies", "remedy_key"): "remedies_key_idx",
    ("stg_case_system__payments", "payment_key"): "payments_key_idx",
}


def plan(warehouse, query: str) -> str:
    """The plan with seq scans off: the planner then uses an index whenever one matches the condition,
    so a plan with no index scan means the index's expression is not the query's."""
    from complaints_warehouse.warehouse import database

    with database.connect(warehouse) as conn:
        conn.execute("set enable_seqscan = off")
        return "\n".join(r[0] for r in conn.execute(f"explain (costs off) {query}").fetchall())


def test_a_condition_on_a_staging_key_is_looked_up_in_the_raw_tables_index(
    simulated_case_system, settings, warehouse, sql
):
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    views = " ".join(sorted({view for view, _ in LOOKUPS}))
    built = transform.run_dbt(
        settings, warehouse, ["run", "--select", views, *transform.scope_vars(True)], **QUIET
    )
    assert built.success, built.failures
    indexes = {
        name for (name,) in sql("select indexname::text from pg_indexes where schemaname = 'raw_case_system'")
    }
    assert set(LOOKUPS.values()) <= indexes
    assert {"payments_case_idx", "remedies_case_idx", "complaint_points_case_idx"} <= indexes
    for (view, key), index in LOOKUPS.items():
        (some_key,) = sql(f"select {key} from staging.{view} limit 1")[0]  # noqa: S608
        shown = plan(warehouse, f"select * from staging.{view} where {key} = any(array['{some_key}'])")  # noqa: S608
        assert index in shown, (view, shown)
        assert sql(f"select count(*) from staging.{view} where {key} = any(array['{some_key}'])") != [(0,)]  # noqa: S608
    # The case of a payment, looked up in its raw table as the nightly build does.
    shown = plan(
        warehouse,
        "select * from raw_case_system.payments where _source_system || ':' || representation_id = any(array['x'])",
    )
    assert "payments_case_idx" in shown


def test_an_empty_raw_tables_indexes_are_built_after_its_first_load(
    simulated_case_system, settings, warehouse, sql
):
    """Dropped before the first rows go in and built once after: every index is there after the load."""
    before = {
        n for (n,) in sql("select indexname::text from pg_indexes where schemaname = 'raw_case_system'")
    }
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    after = {n for (n,) in sql("select indexname::text from pg_indexes where schemaname = 'raw_case_system'")}
    assert set(LOOKUPS.values()) <= after
    assert before <= after
    assert sql("select count(*) from raw_case_system.payments") != [(0,)]
