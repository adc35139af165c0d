"""The simulated case system: deterministic, calibrated to the seed reports, and able to move on a day."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from case_system_simulator import truth
from complaints_warehouse import simulated_source


def fresh(warehouse):
    return simulated_source.simulator(warehouse, f"sim_{uuid.uuid4().hex[:10]}")


def fingerprint(sim) -> tuple:
    with psycopg.connect(sim.conninfo) as conn:
        return conn.execute(
            "select count(*), md5(string_agg(c::text, '|' order by case_ref)) from rms.cases c"
        ).fetchone()


def test_same_seed_same_system_other_seed_another(warehouse):
    first, second, other = fresh(warehouse), fresh(warehouse), fresh(warehouse)
    first.create(seed=11)
    second.create(seed=11)
    other.create(seed=12)
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(other)
    first.advance(2)
    second.advance(2)
    assert fingerprint(first) == fingerprint(second)


def test_one_council_year_looks_like_the_seed_councils(warehouse):
    sim = fresh(warehouse)
    sim.create(seed=3)
    with psycopg.connect(sim.conninfo) as conn:
        kinds = dict(conn.execute("select case_kind, count(*) from rms.cases group by 1").fetchall())
        stages = dict(conn.execute("select stage_code, count(*) from rms.case_stages group by 1").fetchall())
        ombudsman = conn.execute("select count(*) from rms.lgsco_cases").fetchone()[0]
        costs = conn.execute(
            "select count(*), sum(investigation_cost) from rms.case_stages where investigator_type = 'IND'"
        ).fetchone()
        within = truth.stages_within_timescale(conn)
    # DOMAIN.md: a county council handles ~600-1,100 complaints a year and a few hundred compliments.
    assert 600 <= kinds["CMP"] <= 1_100
    assert 200 <= kinds["CPL"] <= 600
    # One in five resolved at Stage 0; about one in eight Stage 1 complaints escalate.
    assert 0.15 <= stages["S0"] / kinds["CMP"] <= 0.25
    assert 0.05 <= stages["S2"] / stages["S1"] <= 0.20
    # 50-120 Ombudsman complaints a year.
    assert 40 <= ombudsman <= 120
    # Independent investigations cost money (a seed: £9,308.85 in a year).
    assert costs[0] > 0 and costs[1] > 0
    # Most stages answered within timescale, but far from all (Surrey: 51 % in children's social care).
    responded, in_time = within["1"]
    assert 0.55 <= in_time / responded <= 0.85


def test_advancing_a_day_brings_new_cases_progress_corrections_and_a_reorganisation(warehouse):
    sim = fresh(warehouse)
    sim.create(seed=5, until=__import__("datetime").date(2024, 3, 30))
    days = sim.advance(3)  # 31 March, then 1 April (a new financial year: a reorganisation), 2 April
    assert [d["day"] for d in days] == ["2024-03-31", "2024-04-01", "2024-04-02"]
    assert sum(d["received"] for d in days) > 0
    assert all(d["progressed"] > 0 for d in days)
    assert len(days[1]["reorganised"]) == 1
    with psycopg.connect(sim.conninfo) as conn:
        moved = conn.execute("select count(*) from rms.org_units where effective_to is not null").fetchone()[
            0
        ]
        newest = conn.execute("select max(date_received) from rms.cases").fetchone()[0]
    assert moved == 1
    assert newest <= __import__("datetime").date(2024, 4, 2)
    assert str(sim.today) == "2024-04-02"


@pytest.mark.parametrize("days", [30])
def test_a_month_of_days_includes_deletions_and_reopenings(warehouse, days):
    sim = fresh(warehouse)
    sim.create(seed=9, councils_count=3)
    report = sim.advance(days)
    assert sum(d["deleted"] for d in report) > 0
    assert sum(len(d["reopened"]) for d in report) > 0
    assert sum(d["corrected"] for d in report) > 0
    with psycopg.connect(sim.conninfo) as conn:
        deleted = conn.execute(
            "select array_agg(case_ref) from sim.cases where deleted_on is not null"
        ).fetchone()[0]
        still_there = conn.execute(
            "select count(*) from rms.cases where case_ref = any(%s)", (deleted,)
        ).fetchone()[0]
    assert still_there == 0
