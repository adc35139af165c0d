"""Publish: freeze a month's validated BMMR figures, and restate rather than overwrite.

Governance leads sign off the monthly BMMR; once published a month's figures never change silently:

* a month is published only from a run whose every expectation passed (``audit.validation_results``),
  or whose every failure a signed-off, unexpired known issue covers (``known_issues``; the publication
  records which, and the BMMR pack shows them);
* only the figures that run validated: the month's checksum must equal the one the validation recorded
  (``integrity``), and publication holds the marts (``locks.marts_lock``) so that no build runs meanwhile;
* never over a tampered record: every publication's figures and the publication chain are verified
  first (``integrity.verify_publications``); the new publication is appended to the chain;
* its figures (the month and the financial year to date, one row per measure) are copied to
  ``published.bmmr_figures`` as version 1, with a checksum, the validation run and who published it;
* publishing again with identical figures does nothing (same checksum);
* figures that differ become the next version, and every changed cell is written to
  ``published.bmmr_restatements`` (old value, new value, reason, the load batches that brought the change).
  The earlier version stays as it was: the published schema refuses updates and deletes.

"The latest complete month" is the latest month in ``marts.bmmr_monthly`` that had ended by the day of
the run and that the case system's data reaches the end of: a month still running, or still loading,
is never published. (The demo's simulated council ends on 31 March 2024, so it publishes 2024-03; moved
on into April, it still publishes March until April's data is complete.)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date

from psycopg import sql

from complaints_warehouse import fault_points, integrity, known_issues
from complaints_warehouse.bmmr_measures import cells_sql
from complaints_warehouse.errors import StepFailed
from complaints_warehouse.integrity import PUBLISHED_PERIODS
from complaints_warehouse.warehouse.database import Connection, connect
from complaints_warehouse.warehouse.locks import marts_lock

LATE_CORRECTION = "late correction: the source data changed after the month was published"


class PublicationRefused(StepFailed, RuntimeError):
    """Nothing was published, for a reason a retry cannot fix (e.g. the run's validation failed)."""


@dataclass(frozen=True)
class Publication:
    """What a call to ``publish_month`` did: ``published``, ``unchanged`` or ``nothing`` to publish."""

    status: str
    month: str | None
    version: int | None = None
    checksum: str | None = None
    figures: int = 0
    restated: int = 0
    message: str = ""
    #: The known issues (ids) whose failures this publication was published despite.
    known_issues: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def latest_complete_month(conn, today: date | None = None) -> date | None:
    """The latest BMMR month that had ended by ``today`` (default: the run's date) and that the case
    system's data covers to its last day (cases received up to then), or None."""
    return conn.execute(
        "select max(report_month) from marts.bmmr_monthly "
        "where report_month + interval '1 month' <= %s "
        "and report_month + interval '1 month' - interval '1 day' <= "
        "(select max(received_date) from marts.fct_representations)",
        (today or date.today(),),
    ).fetchone()[0]


def failed_validation(conn, run_id: str, today: date | None = None) -> str | None:
    """Why the run ``run_id`` may not publish (no validation recorded, or failed expectations that no
    unexpired known issue covers), or None. The Ombudsman's own suites gate the Ombudsman benchmark
    only, never the council's BMMR."""
    from complaints_warehouse.validate import CHECKPOINT, OMBUDSMAN_SUITES

    evaluated, failed, bmmr_checked = conn.execute(
        "select count(*), count(*) filter (where not success and suite <> all(%s)), "
        "count(*) filter (where checkpoint = %s) "
        "from audit.validation_results where run_id = %s",
        (sorted(OMBUDSMAN_SUITES), CHECKPOINT, run_id),
    ).fetchone()
    if evaluated == 0:
        return f"run {run_id} recorded no validation results: only validated figures are published"
    if bmmr_checked == 0:  # another checkpoint's run (the Ombudsman's) never checked the BMMR
        return (
            f"run {run_id} did not run the {CHECKPOINT!r} checkpoint that checks the BMMR: "
            "only validated figures are published"
        )
    if failed:
        uncovered = [
            f
            for f in known_issues.coverage(conn, run_id, today=today).uncovered
            if f["suite"] not in OMBUDSMAN_SUITES
        ]
        if uncovered:
            names = "; ".join(f["expectation"] for f in uncovered)
            return (
                f"run {run_id} failed {failed} of {evaluated} expectations, {len(uncovered)} of them not covered "
                f"by an unexpired known issue ({names}): nothing is published. Fix the source and run again, "
                "or record a signed-off known issue (docs/publication.md)."
            )
    return None


def _stage_figures(conn, month: date) -> tuple[int, str | None]:
    """Copy ``month``'s BMMR cells into the temporary table ``new_figures``; returns (cells, checksum)."""
    conn.execute(
        "create temporary table new_figures on commit drop as "  # noqa: S608 (names from the dbt macro)
        "select b.directorate, b.procedure_code, b.period, kv.key as measure, kv.value::numeric as value "
        f"from {cells_sql('marts.bmmr_monthly')} "
        "where b.report_month = %s and b.period = any(%s)",
        (month, list(PUBLISHED_PERIODS)),
    )
    return conn.execute(
        sql.SQL("select count(*), {} from new_figures").format(sql.SQL(integrity.FIGURES_CHECKSUM))
    ).fetchone()


def publish_month(
    target: Connection,
    run_id: str,
    *,
    published_by: str,
    month: date | None = None,
    today: date | None = None,
    reason: str = LATE_CORRECTION,
) -> Publication:
    """Publish ``month`` (default: the latest complete month) from the validated run ``run_id``.

    Raises ``PublicationRefused`` when the run's validation did not pass (beyond what unexpired known
    issues cover), the month has no figures, or its figures are not those the run validated; raises
    ``integrity.TamperingDetected`` when the published record was changed outside ``publish``.
    Everything happens in one transaction: a publication interrupted half-way leaves nothing behind.
    """
    with (
        marts_lock(target, purpose=f"publish ({run_id})"),
        connect(target, purpose="publisher") as conn,
    ):
        # One publisher at a time: two would race for the same version number.
        conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.publish'))")
        integrity.refuse_if_tampered(conn, "Publication")
        refusal = failed_validation(conn, run_id, today)
        if refusal:
            raise PublicationRefused(refusal)
        if month is None:
            month = latest_complete_month(conn, today)
            if month is None:
                return Publication("nothing", None, message="no complete month in marts.bmmr_monthly yet")
        label = f"{month:%Y-%m}"
        cells, checksum = _stage_figures(conn, month)
        if not cells:
            raise PublicationRefused(f"marts.bmmr_monthly has no figures for {label}: nothing to publish")
        refusal = integrity.validated_checksum_refusal(conn, run_id, month, checksum)
        if refusal:
            raise PublicationRefused(refusal)

        previous = conn.execute(
            "select version, checksum, published_at from published.bmmr_publications "
            "where report_month = %s order by version desc limit 1",
            (month,),
        ).fetchone()
        if previous and previous[1] == checksum:
            return Publication(
                "unchanged",
                label,
                previous[0],
                checksum,
                cells,
                message=f"{label} version {previous[0]} is already published with these figures",
            )

        version = previous[0] + 1 if previous else 1
        conn.execute(
            "insert into published.bmmr_publications "
            "(report_month, version, validation_run_id, checksum, figures_count, published_by) "
            "values (%s, %s, %s, %s, %s, %s)",
            (month, version, run_id, checksum, cells, published_by),
        )
        fault_points.reached("mid-publish")
        conn.execute(
            "insert into published.bmmr_figures "
            "(report_month, version, directorate, procedure_code, period, measure, value) "
            "select %s, %s, directorate, procedure_code, period, measure, value from new_figures",
            (month, version),
        )
        honoured = _honour_known_issues(conn, run_id, month, version, today)
        restated = _restate(conn, month, previous, version, reason) if previous else 0
        # Last: the chain's hash covers the figures' checksum, the restatements and the known issues.
        conn.execute("select published.chain_publication(%s, %s, false)", (month, version))
    message = f"published {label} version {version}" + (
        f" restating {restated} figure(s) of version {version - 1}" if previous else ""
    )
    if honoured:
        message += f", despite known issue(s) {', '.join(f'#{i}' for i in honoured)}"
    return Publication("published", label, version, checksum, cells, restated, message, honoured)


def _honour_known_issues(conn, run_id: str, month: date, version: int, today: date | None) -> list[int]:
    """Record the known issues whose failures this publication goes out despite; returns their ids."""
    honoured = []
    for failure in known_issues.coverage(conn, run_id, today=today).covered:
        for issue in failure["issues"]:
            failing = [
                r
                for r in failure["unexpected_rows"]
                if any(known_issues.matches(r, pattern) for pattern in issue["rows"])
            ]
            conn.execute(
                "insert into published.known_issues_honoured (report_month, version, issue_id, expectation, "
                "rows, failing_rows, reason, signed_off_by, expires_on) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    month,
                    version,
                    issue["issue_id"],
                    issue["expectation"],
                    json.dumps(issue["rows"]),
                    json.dumps(failing, default=str),
                    issue["reason"],
                    issue["signed_off_by"],
                    issue["expires_on"],
                ),
            )
            honoured.append(issue["issue_id"])
    return honoured


def _restate(conn, month: date, previous: tuple, version: int, reason: str) -> int:
    """Write a restatement for every cell of the previous version that the new one changes, with the
    load batches that brought new, changed or deleted rows since the previous publication."""
    from_version, _, published_at = previous
    cur = conn.execute(
        "with batches as ("
        "select coalesce(array_agg(batch_id order by batch_id), '{}') as ids from audit.load_batches "
        "where status = 'loaded' and finished_at > %(published_at)s "
        "and rows_loaded - coalesce(rows_unchanged, 0) + coalesce(rows_deleted, 0) > 0), "
        "old as (select * from published.bmmr_figures where report_month = %(month)s and version = %(from)s) "
        "insert into published.bmmr_restatements (report_month, from_version, to_version, directorate, "
        "procedure_code, period, measure, old_value, new_value, reason, source_batches) "
        "select %(month)s, %(from)s, %(to)s, directorate, procedure_code, period, measure, "
        "old.value, new_figures.value, %(reason)s, batches.ids "
        "from old full join new_figures using (directorate, procedure_code, period, measure) cross join batches "
        "where old.value is distinct from new_figures.value",
        {"published_at": published_at, "month": month, "from": from_version, "to": version, "reason": reason},
    )
    return cur.rowcount


def restatements(target: Connection, month: date | None = None) -> list[dict]:
    """Every restated figure (of ``month``, or all), oldest month and version first."""
    with connect(target) as conn:
        cur = conn.execute(
            "select to_char(report_month, 'YYYY-MM') as month, from_version, to_version, directorate, "
            "procedure_code, period, measure, old_value, new_value, reason, source_batches, restated_at "
            "from published.bmmr_restatements where %(month)s::date is null or report_month = %(month)s "
            "order by report_month, to_version, directorate, procedure_code, period, measure",
            {"month": month},
        )
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def format_restatements(rows: list[dict]) -> str:
    """The restatements report: one line per changed figure."""
    if not rows:
        return "No published figure has been restated."
    lines = [f"{len(rows)} restated figure(s):"]
    for r in rows:
        lines.append(
            f"  {r['month']} v{r['from_version']}->v{r['to_version']} {r['directorate']} / {r['procedure_code']} "
            f"/ {r['period']} / {r['measure']}: {r['old_value']} -> {r['new_value']} "
            f"({r['reason']}; batches {', '.join(map(str, r['source_batches'])) or 'none'})"
        )
    return "\n".join(lines)
