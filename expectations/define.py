"""The expectations the warehouse is validated against, written into the file data context in ``gx/``.

The context under ``expectations/gx/`` is committed: suites, validation definitions and the checkpoint
are reviewable JSON. This module is how they are written; run it after changing a suite::

    make expectations        # or: python expectations/define.py

The data source's connection string is the placeholder ``${GX_WAREHOUSE_URL}``, filled in at run time
from the project's settings, so no credentials are stored here. Every check runs inside PostgreSQL.
Writing needs a built warehouse (GX checks that the tables exist): run ``make run`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONTEXT_ROOT = Path(__file__).resolve().parent
# GX substitutes {batch} with "(select ...) as subselect": give it a name in a CTE, never an alias.
DATA_SOURCE = "warehouse"
CHECKPOINT = "nightly"
#: Checkpoint -> the suites it runs (None: every suite). The Ombudsman DAG validates only what it builds.
CHECKPOINTS = {
    CHECKPOINT: None,
    "ombudsman": ("raw_loads_reconcile", "ombudsman_statistics", "ombudsman_annual_statistics_fact"),
}


@dataclass(frozen=True)
class Rows:
    """A check written as SQL that returns the rows breaking it (none when all is well)."""

    description: str
    query: str


@dataclass(frozen=True)
class Suite:
    name: str
    schema: str
    table: str
    description: str
    checks: tuple


def _raw_rows_per_batch_query() -> str:
    """Loaded batches whose raw rows (across every raw table the loader writes) differ from the ledger:
    a batch appends its new rows (loaded less unchanged) and a tombstone per key deleted at source."""
    from complaints_warehouse.load import SOURCES

    # Table names come from the contracts in code, never from input.
    counts = " union all ".join(
        f"select _batch_id, count(*) as n from {t.raw_schema}.{t.name} group by 1"
        for tables in SOURCES.values()
        for t in tables
    )
    return (
        "with b as (select * from {batch}) "
        "select b.batch_id, b.table_name, b.rows_loaded, b.rows_unchanged, b.rows_deleted, "
        "coalesce(r.n, 0) as raw_rows from b "
        "left join (" + counts + ") r on r._batch_id = b.batch_id "
        "where b.status = 'loaded' "
        "and b.rows_loaded - coalesce(b.rows_unchanged, 0) + coalesce(b.rows_deleted, 0) <> coalesce(r.n, 0)"
    )


def _suites():
    import great_expectations as gx

    ge = gx.expectations
    return (
        Suite(
            name="raw_loads_reconcile",
            schema="audit",
            table="load_batches",
            description="Every load is accounted for: rows in = rows loaded + rows quarantined.",
            checks=(
                Rows(
                    "Every loaded batch reconciles: rows in = rows loaded + rows quarantined",
                    "select * from {batch} where status = 'loaded' "
                    "and rows_in is distinct from rows_loaded + rows_quarantined",
                ),
                Rows(
                    "Every loaded batch's raw rows are its new rows plus its deletions, as the ledger says",
                    _raw_rows_per_batch_query(),
                ),
                Rows(
                    "Every batch's quarantined rows are kept in audit.quarantine",
                    "with b as (select * from {batch}), q as ("
                    "select batch_id, quarantine_id from audit.quarantine "
                    "union all select batch_id, quarantine_id from restricted.quarantine) "
                    "select b.batch_id, b.rows_quarantined, count(q.quarantine_id) as kept from b "
                    "left join q on q.batch_id = b.batch_id "
                    "where b.status = 'loaded' group by b.batch_id, b.rows_quarantined "
                    "having count(q.quarantine_id) <> b.rows_quarantined",
                ),
            ),
        ),
        Suite(
            name="representations_totals",
            schema="marts",
            table="fct_representations",
            description="The representations fact counts every case the case system delivered, once.",
            checks=(
                ge.ExpectTableRowCountToBeBetween(min_value=1),
                Rows(
                    "Every case of every source system appears exactly once in the fact, and no other",
                    "with f as (select * from {batch}) "
                    "select coalesce(s.representation_key, f.representation_key) as representation_key "
                    "from intermediate.int_representations__unified s "
                    "full join f on f.representation_key = s.representation_key "
                    "where s.representation_key is null or f.representation_key is null",
                ),
                Rows(
                    "Stage counts in the fact add up to the council stages recorded for those cases",
                    "with f as (select * from {batch}), totals as ("
                    "select (select coalesce(sum(stage_count), 0) from f) as fact_total, "
                    "(select count(*) from staging.stg_case_system__stages s where s.stage_number <= 3 and exists ("
                    "select 1 from f where f.representation_key = s.representation_key)) as staged_total) "
                    "select * from totals where fact_total <> staged_total",
                ),
                Rows(
                    "No case closes before it was received",
                    "select * from {batch} where closed_date < received_date",
                ),
                ge.ExpectColumnValuesToBeBetween(column="highest_stage", min_value=0, max_value=3),
            ),
        ),
        Suite(
            name="ombudsman_statistics",
            schema="staging",
            table="stg_ombudsman__annual_statistics",
            description="The Ombudsman's published rates agree with the counts they are rates of.",
            checks=(
                Rows(
                    "Upheld never exceeds detailed investigations",
                    "select * from {batch} where upheld > detailed_investigations",
                ),
                Rows(
                    "The published uphold rate equals upheld / detailed investigations, rounded to whole percent",
                    "select authority_name, financial_year, published_uphold_rate_pct, "
                    "round(100.0 * upheld / detailed_investigations) as recomputed from {batch} "
                    "where detailed_investigations > 0 "
                    "and published_uphold_rate_pct <> round(100.0 * upheld / detailed_investigations)",
                ),
                Rows(
                    "A year with no detailed investigations has no uphold rate (not zero)",
                    "select * from {batch} where detailed_investigations = 0 and published_uphold_rate_pct is not null",
                ),
                Rows(
                    "The published satisfactory remedy rate equals satisfactory remedies / upheld, rounded",
                    "select authority_name, financial_year from {batch} where upheld > 0 "
                    "and published_satisfactory_remedy_rate_pct <> round(100.0 * satisfactory_remedies / upheld)",
                ),
            ),
        ),
        Suite(
            name="ombudsman_annual_statistics_fact",
            schema="marts",
            table="fct_ombudsman_annual_statistics",
            description="The Ombudsman fact reproduces every published rate and matches every council-year.",
            checks=(
                Rows(
                    "Every published rate (uphold, satisfactory remedy, upheld per 100,000) equals its recomputation",
                    "select authority_year_key, published_uphold_rate_pct, recomputed_uphold_rate_pct, "
                    "published_satisfactory_remedy_rate_pct, recomputed_satisfactory_remedy_rate_pct, "
                    "published_upheld_per_100k, recomputed_upheld_per_100k from {batch} where has_rate_mismatch",
                ),
                Rows(
                    "A year with no detailed investigations has no uphold rate, published or recomputed",
                    "select authority_year_key from {batch} where detailed_investigations = 0 "
                    "and (published_uphold_rate_pct is not null or recomputed_uphold_rate_pct is not null)",
                ),
                Rows(
                    "Every staged council-year is in the fact, matched to exactly one authority",
                    "with f as (select * from {batch}) "
                    "select s.authority_year_key from staging.stg_ombudsman__annual_statistics s "
                    "where not exists (select 1 from f where f.published_authority_name = s.authority_name "
                    "and f.financial_year = s.financial_year)",
                ),
            ),
        ),
    )


def write_context(root: Path = CONTEXT_ROOT):
    """Create or update the data source, suites, validation definitions and checkpoint in ``root/gx``."""
    import great_expectations as gx

    context = gx.get_context(mode="file", project_root_dir=str(root))
    source = context.data_sources.add_or_update_sql(name=DATA_SOURCE, connection_string="${GX_WAREHOUSE_URL}")
    definitions = []
    for suite_def in _suites():
        asset_name = f"{suite_def.schema}.{suite_def.table}"
        try:
            asset = source.get_asset(asset_name)
        except LookupError:
            asset = source.add_table_asset(
                name=asset_name, table_name=suite_def.table, schema_name=suite_def.schema
            )
        try:
            batch = asset.get_batch_definition("whole_table")
        except KeyError:
            batch = asset.add_batch_definition_whole_table("whole_table")
        suite = gx.ExpectationSuite(name=suite_def.name, meta={"description": suite_def.description})
        for check in suite_def.checks:
            if isinstance(check, Rows):
                check = gx.expectations.UnexpectedRowsExpectation(
                    unexpected_rows_query=check.query, description=check.description
                )
            suite.add_expectation(check)
        suite = context.suites.add_or_update(suite)
        definitions.append(
            context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=suite_def.name, data=batch, suite=suite)
            )
        )
    for name, suites in CHECKPOINTS.items():
        context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[d for d in definitions if suites is None or d.name in suites],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
                result_format={"result_format": "COMPLETE", "partial_unexpected_count": 20},
            )
        )
    return context


if __name__ == "__main__":
    # GX checks the connection and the tables while it writes: point it at a built warehouse.
    from complaints_warehouse import database, validate
    from complaints_warehouse.settings import load_settings

    validate.export_gx_environment(database.resolve(load_settings()))
    write_context()
    print(f"Wrote the Great Expectations context in {CONTEXT_ROOT / 'gx'}")
