"""Known issues: a validation failure that a named person has signed off, so that publication goes on.

A validation failure blocks publication until one of two ways out is taken (docs/publication.md):

1. fix the source (or the warehouse's code) and run again; or
2. record a *known issue*: which expectation, which of its failing rows, why, who signed it off, and
   the day it expires (``complaints-warehouse known-issue add``).

The gate (``validate`` and ``publish``) lets a failure through only when every failing row of it is
named by an unexpired, unwithdrawn known issue of that expectation, and the run recorded every failing
row (an expectation with more than ``gx_checks``' 200 sampled rows, or one that could not run, is never
covered). Anything else still blocks. The BMMR pack lists, on its face, each known issue its
publication was published despite (``published.known_issues_honoured``).

``audit.known_issues`` is append-only: a withdrawal is a new row naming the issue; the database refuses
updates and deletes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from complaints_warehouse.settings import SettingsError
from complaints_warehouse.warehouse.database import Connection, connect


class KnownIssueError(SettingsError):
    """A known issue cannot be recorded or withdrawn as asked (CLI exit 2); nothing was changed."""


@dataclass(frozen=True)
class Coverage:
    """A run's failed expectations: those its known issues cover (with the issues), and those they don't."""

    covered: list[dict]
    uncovered: list[dict]


def parse_row(text: str) -> dict:
    """``key=value[,key=value...]`` or a JSON object: the columns identifying one failing row."""
    text = text.strip()
    if text.startswith("{"):
        try:
            row = json.loads(text)
        except ValueError as exc:
            raise KnownIssueError(f"--row {text!r} is not a JSON object: {exc}") from None
        if not isinstance(row, dict) or not row:
            raise KnownIssueError(f"--row {text!r} must be a non-empty JSON object")
        return {str(k): "null" if v is None else str(v) for k, v in row.items()}
    row = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise KnownIssueError(
                f"--row {text!r}: give the failing row's columns as column=value[,column=value] "
                "(as `complaints-warehouse known-issue failures` prints them), or as a JSON object"
            )
        row[key.strip()] = value.strip()
    return row


def matches(row, pattern: dict) -> bool:
    row = row if isinstance(row, dict) else {"value": row}
    return all(k in row and ("null" if row[k] is None else str(row[k])) == v for k, v in pattern.items())


def add(
    target: Connection,
    *,
    expectation: str,
    rows: list[dict],
    reason: str,
    signed_off_by: str,
    expires_on: date,
    recorded_by: str,
    today: date | None = None,
) -> int:
    """Record a known issue; returns its id. Refuses (``KnownIssueError``) an unknown expectation, no
    rows, a blank reason or signatory, or an expiry not after today."""
    today = today or date.today()
    if not reason.strip() or not signed_off_by.strip():
        raise KnownIssueError(
            "A known issue needs a reason (--reason) and who signed it off (--signed-off-by)."
        )
    if not rows:
        raise KnownIssueError("A known issue names the failing rows it covers: give at least one --row.")
    if expires_on <= today:
        raise KnownIssueError(
            f"--expires {expires_on} is not after today ({today}): a known issue must expire later."
        )
    with connect(target) as conn:
        known = [
            r[0]
            for r in conn.execute(
                "select distinct expectation from audit.validation_results order by 1"
            ).fetchall()
        ]
        if expectation not in known:
            near = [k for k in known if expectation.lower() in k.lower()]
            raise KnownIssueError(
                f"No expectation called {expectation!r} has been evaluated in this warehouse. "
                + (f"Did you mean: {'; '.join(map(repr, near))}?" if near else "See `known-issue failures`.")
            )
        return conn.execute(
            "with n as (select nextval(pg_get_serial_sequence('audit.known_issues', 'entry_id')) as id) "
            "insert into audit.known_issues (entry_id, issue_id, action, expectation, rows, reason, "
            "signed_off_by, expires_on, recorded_by) "
            "select id, id, 'add', %s, %s::jsonb, %s, %s, %s, %s from n returning issue_id",
            (expectation, json.dumps(rows), reason.strip(), signed_off_by.strip(), expires_on, recorded_by),
        ).fetchone()[0]


def withdraw(target: Connection, issue_id: int, *, reason: str, signed_off_by: str, recorded_by: str) -> None:
    """Withdraw known issue ``issue_id`` (a new row; the issue stops covering at once)."""
    if not reason.strip() or not signed_off_by.strip():
        raise KnownIssueError("A withdrawal needs a reason (--reason) and who decided it (--signed-off-by).")
    with connect(target) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.known_issues'))")
        found = conn.execute(
            "select expectation, bool_or(action = 'withdraw') from audit.known_issues where issue_id = %s "
            "group by expectation",
            (issue_id,),
        ).fetchone()
        if found is None:
            raise KnownIssueError(
                f"There is no known issue {issue_id} (see `complaints-warehouse known-issue list`)."
            )
        if found[1]:
            raise KnownIssueError(f"Known issue {issue_id} is already withdrawn.")
        conn.execute(
            "insert into audit.known_issues (issue_id, action, expectation, reason, signed_off_by, recorded_by) "
            "values (%s, 'withdraw', %s, %s, %s, %s)",
            (issue_id, found[0], reason.strip(), signed_off_by.strip(), recorded_by),
        )


def issues(conn, *, today: date | None = None, active_only: bool = False) -> list[dict]:
    """Every known issue with its state (active, expired, withdrawn), newest first."""
    cur = conn.execute(
        "select a.issue_id, a.expectation, a.rows, a.reason, a.signed_off_by, a.expires_on, a.recorded_by, "
        "a.recorded_at, w.signed_off_by as withdrawn_by, w.reason as withdrawn_reason, w.recorded_at as withdrawn_at, "
        "case when w.issue_id is not null then 'withdrawn' when a.expires_on <= %(today)s then 'expired' "
        "else 'active' end as state "
        "from audit.known_issues a left join audit.known_issues w "
        "on w.issue_id = a.issue_id and w.action = 'withdraw' where a.action = 'add' "
        "order by a.issue_id desc",
        {"today": today or date.today()},
    )
    names = [c.name for c in cur.description]
    found = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return [i for i in found if i["state"] == "active"] if active_only else found


def coverage(conn, run_id: str, *, today: date | None = None) -> Coverage:
    """Which of run ``run_id``'s failed expectations the active known issues cover, row by row."""
    active = issues(conn, today=today, active_only=True)
    cur = conn.execute(
        "select suite, expectation, observed_value, unexpected_count, unexpected_rows "
        "from audit.validation_results where run_id = %s and not success order by validation_id",
        (run_id,),
    )
    names = [c.name for c in cur.description]
    covered, uncovered = [], []
    for failure in (dict(zip(names, r, strict=True)) for r in cur.fetchall()):
        rows = failure["unexpected_rows"]
        relevant = [i for i in active if i["expectation"] == failure["expectation"]]
        complete = (
            rows is not None
            and failure["unexpected_count"] is not None
            and (failure["unexpected_count"] == len(rows) and len(rows) > 0)
        )
        used = {
            i["issue_id"]: i
            for row in (rows or [])
            for i in relevant
            if any(matches(row, pattern) for pattern in i["rows"])
        }
        if (
            complete
            and relevant
            and all(any(matches(row, p) for i in relevant for p in i["rows"]) for row in rows)
        ):
            covered.append({**failure, "issues": list(used.values())})
        else:
            uncovered.append(failure)
    return Coverage(covered, uncovered)


def format_issues(found: list[dict]) -> str:
    if not found:
        return "No known issues are recorded."
    lines = []
    for i in found:
        rows = "; ".join(",".join(f"{k}={v}" for k, v in r.items()) for r in i["rows"])
        lines.append(
            f"#{i['issue_id']} [{i['state']}] {i['expectation']}\n"
            f"    rows: {rows}\n"
            f"    why: {i['reason']}\n"
            f"    signed off by {i['signed_off_by']}; expires {i['expires_on']}; recorded by {i['recorded_by']} "
            f"at {i['recorded_at']:%Y-%m-%d %H:%M}"
            + (
                f"\n    withdrawn by {i['withdrawn_by']} at {i['withdrawn_at']:%Y-%m-%d %H:%M}: {i['withdrawn_reason']}"
                if i["state"] == "withdrawn"
                else ""
            )
        )
    return "\n".join(lines)


def latest_failures(conn) -> tuple[str | None, list[dict]]:
    """The latest validation run that failed, and its failures (with every recorded failing row)."""
    row = conn.execute(
        "select run_id from audit.validation_results where not success order by validated_at desc limit 1"
    ).fetchone()
    if row is None:
        return None, []
    cur = conn.execute(
        "select expectation, unexpected_count, unexpected_rows from audit.validation_results "
        "where run_id = %s and not success order by validation_id",
        (row[0],),
    )
    names = [c.name for c in cur.description]
    return row[0], [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def format_failures(run_id: str | None, failures: list[dict]) -> str:
    if run_id is None:
        return "No validation has failed in this warehouse."
    lines = [f"Validation run {run_id} failed {len(failures)} expectation(s):"]
    for f in failures:
        rows = f["unexpected_rows"] or []
        lines.append(
            f"  --expectation {json.dumps(f['expectation'])}  ({f['unexpected_count']} failing row(s))"
        )
        for r in rows[:20]:
            r = r if isinstance(r, dict) else {"value": r}
            lines.append("      --row " + json.dumps(",".join(f"{k}={v}" for k, v in r.items())))
        if f["unexpected_count"] is None or len(rows) != f["unexpected_count"]:
            lines.append("      (not every failing row was recorded: a known issue cannot cover this one)")
        elif len(rows) > 20:
            lines.append(f"      ... and {len(rows) - 20} more")
    return "\n".join(lines)
