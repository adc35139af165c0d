"""Validate: run the Great Expectations checkpoint in ``expectations/gx`` against the warehouse.

Every expectation runs as SQL inside PostgreSQL; nothing pulls tables into pandas. Each result is kept
in ``audit.validation_results`` and rendered as Data Docs.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field

from psycopg.types.json import Jsonb

from complaints_warehouse.database import Connection, connect
from complaints_warehouse.settings import Settings

CHECKPOINT = "nightly"
SAMPLE_ROWS = 5


class ValidationFailed(RuntimeError):
    """At least one expectation failed; the message names each, with sample rows."""

    def __init__(self, summary: ValidationSummary):
        lines = [f"{len(summary.failed)} expectation(s) failed in checkpoint {summary.checkpoint}:"]
        for failure in summary.failed:
            lines.append(
                f"  - [{failure['suite']}] {failure['expectation']}: observed {failure['observed_value']}"
            )
            for row in failure["sample"][:SAMPLE_ROWS]:
                lines.append(f"      {json.dumps(row, default=str)}")
        super().__init__("\n".join(lines))
        self.summary = summary


@dataclass
class ValidationSummary:
    run_id: str
    checkpoint: str
    success: bool
    evaluated: int
    passed: int
    failed: list[dict] = field(default_factory=list)
    data_docs: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def export_gx_environment(target: Connection) -> None:
    """Fill in the context's ``${GX_WAREHOUSE_URL}`` and keep GX quiet and offline."""
    os.environ["GX_WAREHOUSE_URL"] = target.sqlalchemy_url("psycopg2")
    os.environ["GX_ANALYTICS_ENABLED"] = "false"


def run_checkpoint(
    settings: Settings, target: Connection, run_id: str, checkpoint: str = CHECKPOINT
) -> ValidationSummary:
    """Run ``checkpoint``, record every result in the audit schema, and raise ``ValidationFailed`` if any failed."""
    export_gx_environment(target)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from complaints_warehouse import gx_checks  # noqa: F401  (registers the suites' SQL check)

    context = gx.get_context(mode="file", project_root_dir=str(settings.expectations_dir))
    result = context.checkpoints.get(checkpoint).run(run_id=gx.RunIdentifier(run_name=run_id))
    # Data Docs once for the whole run: this run's pages and the index (unless WAREHOUSE_DOCS is off).
    if settings.write_docs:
        context.build_data_docs(
            resource_identifiers=[
                *result.run_results.keys(),
                *(ExpectationSuiteIdentifier(name=v.suite_name) for v in result.run_results.values()),
            ]
        )

    rows = []
    for validation in result.run_results.values():
        suite = validation.suite_name
        for item in validation.results:
            config = item.expectation_config
            name = config.description or _describe(config)
            details = item.result or {}
            sample = (
                details.get("details", {}).get("unexpected_rows")
                or details.get("partial_unexpected_list")
                or []
            )
            errors = _exception_messages(item.exception_info or {})
            if errors:  # an expectation that could not run is a failure, with the database's reason
                sample = [{"error": errors[0].splitlines()[0]}]
            rows.append(
                {
                    "suite": suite,
                    "expectation": name,
                    "success": bool(item.success),
                    "observed_value": details.get("observed_value", details.get("unexpected_count")),
                    "sample": [_plain(r) for r in sample[:SAMPLE_ROWS]],
                }
            )
    _record(target, run_id, checkpoint, rows)
    summary = ValidationSummary(
        run_id=run_id,
        checkpoint=checkpoint,
        success=bool(result.success),
        evaluated=len(rows),
        passed=sum(r["success"] for r in rows),
        failed=[r for r in rows if not r["success"]],
        data_docs=str(settings.data_docs_dir / "index.html"),
    )
    if not summary.success:
        raise ValidationFailed(summary)
    return summary


def _exception_messages(info: dict) -> list[str]:
    """GX reports an exception either directly or per metric that failed to compute."""
    if "raised_exception" in info:
        return [info.get("exception_message") or "unknown error"] if info["raised_exception"] else []
    return [m for value in info.values() if isinstance(value, dict) for m in _exception_messages(value)]


def _describe(config) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in {"batch_id", "result_format"}}
    return f"{config.type}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


def _plain(row):
    return json.loads(json.dumps(row, default=str))


def _record(target: Connection, run_id: str, checkpoint: str, rows: list[dict]) -> None:
    with connect(target) as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into audit.validation_results "
            "(run_id, checkpoint, suite, expectation, success, observed_value, unexpected_sample) "
            "values (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    run_id,
                    checkpoint,
                    r["suite"],
                    r["expectation"],
                    r["success"],
                    Jsonb(_plain(r["observed_value"])),
                    Jsonb(r["sample"]),
                )
                for r in rows
            ],
        )
