"""A Great Expectations check written as SQL, run once.

GX's ``UnexpectedRowsExpectation`` asks two metrics of the same query: the count of its rows
(``select count(*) from (query)``) and a sample of them (``query`` fetching 200 rows). Each runs the
whole query, so every check of the nightly checkpoint -- several of them full scans of the facts --
ran twice. ``UnexpectedRowsOnceExpectation`` is the same expectation (same query, same result: the
count as the observed value, the sample as the unexpected rows) computed by one metric and one query:
the sample carries the count of every row as a window over the whole result.

Importing this module registers the expectation and its metric with GX: import it before a context
loads suites that use it (``validate.run_checkpoint`` and ``expectations/define.py`` do). It uses GX's
private API: importing it checks the installed GX is the minor version it is pinned to (``gx_pin``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from complaints_warehouse.gx_pin import require_pinned_gx

# Before the private API is imported: another GX minor version is refused by name, never by an ImportError.
require_pinned_gx()

import sqlalchemy as sa  # noqa: E402
from great_expectations.constants import MAX_RESULT_RECORDS  # noqa: E402
from great_expectations.core.metric_domain_types import MetricDomainTypes  # noqa: E402
from great_expectations.execution_engine import SqlAlchemyExecutionEngine  # noqa: E402
from great_expectations.expectations import UnexpectedRowsExpectation  # noqa: E402
from great_expectations.expectations.metrics.metric_provider import metric_value  # noqa: E402
from great_expectations.expectations.metrics.query_metrics.query_table.unexpected_rows_query_table import (  # noqa: E402
    UnexpectedRowsQueryTable,
)

METRIC = "unexpected_rows_query.count_and_sample"
#: The column carrying the count of all the query's rows on each sampled row (taken off before reporting).
TOTAL_COLUMN = "__unexpected_rows_total"


class UnexpectedRowsQueryCountAndSample(UnexpectedRowsQueryTable):
    """``{"count": all rows of the query, "rows": the first MAX_RESULT_RECORDS of them}``, in one query."""

    metric_name = METRIC
    value_keys = ("unexpected_rows_query",)
    query_param_name: ClassVar[str] = "unexpected_rows_query"

    @metric_value(engine=SqlAlchemyExecutionEngine)
    def _sqlalchemy(
        cls,
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> dict:
        batch_selectable, _, _ = execution_engine.get_compute_domain(
            metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        query = cls._get_substituted_batch_subquery_from_query_and_batch_selectable(
            query=cls._get_query_from_metric_value_kwargs(metric_value_kwargs),
            batch_selectable=batch_selectable,
            execution_engine=execution_engine,
        )
        # The window is computed over every row before the limit: the count is of all of them. The
        # query is a committed suite's, as GX substituted its batch (see tests/test_identifiers.py).
        counted = (
            f"select count(*) over () as {TOTAL_COLUMN}, unexpected.* from ({query}) as unexpected "  # noqa: S608
            f"limit {MAX_RESULT_RECORDS}"
        )
        rows = [row._asdict() for row in execution_engine.execute_query(sa.text(counted)).fetchall()]
        total = rows[0][TOTAL_COLUMN] if rows else 0
        for row in rows:
            del row[TOTAL_COLUMN]
        return {"count": total, "rows": rows}


class UnexpectedRowsOnceExpectation(UnexpectedRowsExpectation):
    """``UnexpectedRowsExpectation`` whose query runs once (see the module's docstring)."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (METRIC,)

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None):
        found = metrics[METRIC]
        return super()._validate(
            {"unexpected_rows_query.table": found["rows"], "unexpected_rows_query.row_count": found["count"]},
            runtime_configuration,
            execution_engine,
        )
