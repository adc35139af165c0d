"""Validate: run the Great Expectations checkpoint in ``expectations/gx`` against the warehouse.

Every expectation runs as SQL inside PostgreSQL; nothing pulls tables into pandas. Each result is kept
in ``audit.validation_results`` (with every failing row GX sampled) and rendered as Data Docs.

A validation holds the marts (``locks.marts_lock``) and records the checksum of each month's BMMR
figures it validated (``integrity``): publication publishes only figures that still have it. A failure
whose every failing row a signed-off, unexpired known issue names (``known_issues``) does not fail the
validation; it is reported as covered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from psycopg.types.json import Jsonb

from complaints_warehouse.errors import StepFailed
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse.database import Connection, connect

CHECKPOINT = "nightly"
SAMPLE_ROWS = 5
#: The Ombudsman's own suites: in the nightly checkpoint their failures (a published figure that differs
#: from its recomputation, a published per-100,000 figure with no population to check it) gate the
#: Ombudsman benchmark only, never the council's BMMR publication. The "ombudsman" checkpoint (the
#: Ombudsman DAG) still fails on them.
OMBUDSMAN_SUITES = frozenset({"ombudsman_statistics", "ombudsman_annual_statistics_fact"})


class ValidationFailed(StepFailed, RuntimeError):
    """At least one expectation failed (and no known issue covers it); the message names each, with
    sample rows, and the ways out."""

    def __init__(self, summary: ValidationSummary):
        lines = [f"{len(summary.failed)} expectation(s) failed in checkpoint {summary.checkpoint}:"]
        for failure in summary.failed:
            lines.append(
                f"  - [{failure['suite']}] {failure['expectation']}: observed {failure['observed_value']}"
            )
            for row in failure["sample"][:SAMPLE_ROWS]:
                lines.append(f"      {json.dumps(row, default=str)}")
        if summary.covered:
            lines.append(
                f"  ({len(summary.covered)} other failure(s) are covered by known issues: "
                + "; ".join(f["expectation"] for f in summary.covered)
                + ")"
            )
        lines.append(
            "Fix the source and run again, or, if the failure is understood and signed off, record it as a "
            "known issue (`complaints-warehouse known-issue failures` lists the rows; see docs/publication.md)."
        )
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
    #: Failures every failing row of which a known issue names: they do not fail the validation.
    covered: list[dict] = field(default_factory=list)
    #: "passed" or "failed": the Ombudsman's own suites, which gate the Ombudsman benchmark only.
    ombudsman_gate: str = "passed"
    ombudsman_failed: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


#: The placeholder of the data source's connection string in ``expectations/gx/great_expectations.yml``.
GX_URL_VARIABLE = "GX_WAREHOUSE_URL"


def gx_variables(target: Connection) -> dict[str, str]:
    """What fills in the context's ``${GX_WAREHOUSE_URL}``: the warehouse's URL, from the settings."""
    return {GX_URL_VARIABLE: target.sqlalchemy_url("psycopg2")}


def gx_context(project_dir: Path, target: Connection):
    """The Great Expectations file context in ``project_dir`` (its ``gx/`` folder), connected to ``target``.

    The URL reaches GX as the context's *runtime environment*, GX's own config substitution (it takes
    precedence over environment variables and config_variables.yml), so the process environment is never
    written. GX 1.24 sends no usage statistics; great_expectations.yml also says analytics_enabled: false."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx.get_context(
        mode="file", project_root_dir=str(project_dir), runtime_environment=gx_variables(target)
    )


#: What GX *prints* (not logs) each time it loads an unexpected-rows check whose query does not read
#: ``{batch}``: dozens of times a run. Our suites' checks that compare two tables read beyond the batch
#: by design (expectations/define.py).
GX_BATCH_NOTICE = (
    "unexpected_rows_query should contain the {batch} parameter. "
    "Otherwise data outside the configured batch will be queried."
)


class _DropLine:
    """A stream that passes every line to ``out`` but those equal to ``dropped``; anything else asked of
    it (its encoding, ``isatty``...) is ``out``'s."""

    def __init__(self, out, dropped: str):
        self.out, self.dropped, self.pending = out, dropped, ""

    def __getattr__(self, name: str):
        return getattr(self.out, name)

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if line != self.dropped:
                self.out.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.out.write(self.pending)
            self.pending = ""
        self.out.flush()


@contextlib.contextmanager
def _without_gx_batch_notice() -> Iterator[None]:
    quiet = _DropLine(sys.stdout, GX_BATCH_NOTICE)
    with contextlib.redirect_stdout(quiet):
        try:
            yield
        finally:
            quiet.flush()


def run_checkpoint(
    settings: Settings, target: Connection, run_id: str, checkpoint: str = CHECKPOINT
) -> ValidationSummary:
    """Run ``checkpoint``, record every result in the audit schema, and raise ``ValidationFailed`` if any
    failed that no known issue covers. Holds the marts meanwhile, and records what it validated."""
    from complaints_warehouse.gx_pin import require_pinned_gx
    from complaints_warehouse.warehouse.locks import marts_lock

    require_pinned_gx()
    with marts_lock(target, purpose=f"validate ({run_id})"):
        return _run_checkpoint(settings, target, run_id, checkpoint)


def _run_checkpoint(
    settings: Settings, target: Connection, run_id: str, checkpoint: str
) -> ValidationSummary:
    from complaints_warehouse import integrity, known_issues

    with connect(target) as conn:
        before = integrity.record_validated_figures(conn, run_id)
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from complaints_warehouse import gx_checks  # noqa: F401  (registers the suites' SQL check)

    if not (settings.expectations_dir / "gx" / "great_expectations.yml").is_file():
        from complaints_warehouse.settings import SettingsError

        # Else GX would make an empty project there and fail on the missing checkpoint.
        raise SettingsError(
            f"{settings.expectations_dir} holds no Great Expectations project (gx/great_expectations.yml): "
            "point WAREHOUSE_EXPECTATIONS_DIR at a copy of the project's expectations/ folder, or unset it."
        )
    with _without_gx_batch_notice():  # GX loads the suites again to render Data Docs: both inside
        context = gx_context(settings.expectations_dir, target)
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
            observed = details.get("observed_value", details.get("unexpected_count"))
            # Every failing row GX kept, and how many there were: what a known issue must name to cover it.
            every = details.get("details", {}).get("unexpected_rows") or details.get("unexpected_list")
            count = details.get("unexpected_count", observed if isinstance(observed, int) else None)
            errors = _exception_messages(item.exception_info or {})
            if errors:  # an expectation that could not run is a failure, with the database's reason
                sample = [{"error": errors[0].splitlines()[0]}]
                every, count = None, None
            rows.append(
                {
                    "suite": suite,
                    "expectation": name,
                    "success": bool(item.success),
                    "observed_value": observed,
                    "sample": [_plain(r) for r in sample[:SAMPLE_ROWS]],
                    "unexpected_count": None if item.success else count,
                    "unexpected_rows": None if item.success or every is None else _plain(list(every)),
                }
            )
    with connect(target) as conn:  # a month whose figures moved meanwhile was not validated as a whole
        integrity.spoil_changed(conn, run_id, before, integrity.marts_checksums(conn))
    _record(target, run_id, checkpoint, rows)
    with connect(target) as conn:
        covered = known_issues.coverage(conn, run_id)
    # The Ombudsman's own suites gate the Ombudsman benchmark only (in the nightly checkpoint); a known
    # issue can cover any other failure.
    gated_apart = OMBUDSMAN_SUITES if checkpoint == CHECKPOINT else frozenset()
    uncovered = {(f["suite"], f["expectation"]) for f in covered.uncovered if f["suite"] not in gated_apart}
    ombudsman_failed = [r for r in rows if not r["success"] and r["suite"] in OMBUDSMAN_SUITES]
    summary = ValidationSummary(
        run_id=run_id,
        checkpoint=checkpoint,
        success=not uncovered,
        evaluated=len(rows),
        passed=sum(r["success"] for r in rows),
        failed=[r for r in rows if not r["success"] and (r["suite"], r["expectation"]) in uncovered],
        data_docs=str(settings.data_docs_dir / "index.html"),
        covered=[
            {
                "suite": f["suite"],
                "expectation": f["expectation"],
                "failing_rows": f["unexpected_count"],
                "known_issues": [i["issue_id"] for i in f["issues"]],
            }
            for f in covered.covered
        ],
        ombudsman_gate="failed" if ombudsman_failed else "passed",
        ombudsman_failed=ombudsman_failed,
    )
    if not summary.success:
        raise ValidationFailed(summary)
    return summary


def ombudsman_gate_failures(conn, run_id: str) -> list[tuple[str, str]]:
    """The Ombudsman suites' failed expectations of ``run_id`` as (suite, expectation): the Ombudsman
    benchmark's gate. Empty when they passed (or the run recorded none)."""
    return conn.execute(
        "select suite, expectation from audit.validation_results "
        "where run_id = %s and not success and suite = any(%s) order by 1, 2",
        (run_id, sorted(OMBUDSMAN_SUITES)),
    ).fetchall()


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
            "insert into audit.validation_results (run_id, checkpoint, suite, expectation, success, "
            "observed_value, unexpected_sample, unexpected_count, unexpected_rows) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    run_id,
                    checkpoint,
                    r["suite"],
                    r["expectation"],
                    r["success"],
                    Jsonb(_plain(r["observed_value"])),
                    Jsonb(r["sample"]),
                    r["unexpected_count"],
                    None if r["unexpected_rows"] is None else Jsonb(r["unexpected_rows"]),
                )
                for r in rows
            ],
        )
