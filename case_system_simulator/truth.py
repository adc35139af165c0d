"""What the simulated system holds, in the warehouse's terms: the figures a correct warehouse reproduces.

Computed straight from the simulator's own tables (the system of record), translating the product's codes
with the simulator's own tables of them, not with the warehouse's mapping, so the two are independent.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import psycopg

from case_system_simulator.plan import KIND_CODES, PROCEDURE_CODES, STAGE_CODES
from case_system_simulator.working_days import WorkingDays

KINDS = {v: k for k, v in KIND_CODES.items()}
PROCEDURES = {v: k for k, v in PROCEDURE_CODES.items()}
STAGES = {v: k for k, v in STAGE_CODES.items()}


def monthly_received(conn: psycopg.Connection) -> dict[tuple[str, str, str], int]:
    """(month "YYYY-MM", procedure, representation type) -> representations received."""
    rows = conn.execute(
        "select to_char(date_received, 'YYYY-MM'), procedure_code, case_kind, count(*) from rms.cases group by 1, 2, 3"
    )
    return {(m, PROCEDURES[p], KINDS[k]): n for m, p, k, n in rows}


def monthly_closed(conn: psycopg.Connection) -> dict[str, int]:
    """Month -> representations whose current status is closed, by the month they closed."""
    rows = conn.execute(
        "select to_char(date_closed, 'YYYY-MM'), count(*) from rms.cases where case_status = 'C' group by 1"
    )
    return dict(rows.fetchall())


def stages_within_timescale(conn: psycopg.Connection) -> dict[str, tuple[int, int]]:
    """Stage -> (stages responded, of which within timescale): by the (extended) due date plus any
    suspended working days."""
    rows = conn.execute(
        "select stage_code, date_due, date_due_extended, coalesce(days_suspended, 0), date_responded "
        "from rms.case_stages where date_responded is not null and stage_code <> 'LGO'"
    ).fetchall()
    if not rows:
        return {}
    years = [d.year for r in rows for d in (r[1], r[4]) if d]
    wd = WorkingDays(min(years), max(years) + 1)
    responded, within = Counter(), Counter()
    for stage, due, extended, suspended, answered in rows:
        stage_name = STAGES[stage]
        responded[stage_name] += 1
        if answered <= wd.add(extended or due, suspended):
            within[stage_name] += 1
    return {s: (responded[s], within[s]) for s in responded}


def remedies(conn: psycopg.Connection) -> tuple[int, Decimal]:
    """(remedies agreed, total GBP of financial remedies)."""
    count, amount = conn.execute("select count(*), coalesce(sum(amount), 0) from rms.remedies").fetchone()
    return count, amount


def payments(conn: psycopg.Connection) -> tuple[int, Decimal]:
    count, amount = conn.execute("select count(*), coalesce(sum(amount), 0) from rms.payments").fetchone()
    return count, amount


def case_count(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from rms.cases").fetchone()[0]
