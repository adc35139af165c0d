"""National scale, set-based: councils copied in SQL are councils of their own, and a night's change at
the source touches the share asked for, in the kinds asked for."""

from __future__ import annotations

import uuid
from datetime import date

import psycopg

from case_system_simulator import schema
from complaints_warehouse import simulated_source
from tools import simulator_scale as scale

KEYS_AND_INDEXES = (
    "select schemaname, indexname, indexdef from pg_indexes where schemaname in ('rms', 'sim') order by 1, 2"
)


def count(conn, query: str, params=None) -> int:
    return conn.execute(query, params).fetchone()[0]


def test_copied_councils_have_their_own_rows_with_their_templates_volumes(warehouse):
    sim = simulated_source.simulator(warehouse, f"sim_{uuid.uuid4().hex[:10]}")
    sim.create(councils_count=2, start=date(2023, 10, 1), until=date(2024, 3, 31), seed=5)
    with psycopg.connect(sim.conninfo) as conn:
        before = {t: count(conn, f"select count(*) from rms.{t}") for t in schema.COLUMNS}
        keys_and_indexes = conn.execute(KEYS_AND_INDEXES).fetchall()
        lgsco_before = before["lgsco_cases"]
    counts = scale.replicate_councils(sim.conninfo, 5)  # SIM003 and SIM005 copy SIM001, SIM004 copies SIM002
    with psycopg.connect(sim.conninfo) as conn:
        per_council = dict(conn.execute("select council_code, count(*) from rms.cases group by 1").fetchall())
        assert sorted(per_council) == ["SIM001", "SIM002", "SIM003", "SIM004", "SIM005"]
        assert per_council["SIM003"] == per_council["SIM005"] == per_council["SIM001"]
        assert per_council["SIM004"] == per_council["SIM002"]
        # Every reference belongs to its own council: no copied row points at its template's rows.
        assert count(conn, "select count(*) from rms.cases where left(case_ref, 6) <> council_code") == 0
        assert count(conn, "select count(*) from rms.cases where left(contact_no, 6) <> council_code") == 0
        # Unit codes are qualified by council, so one system's service areas stay distinct by code, and
        # every case's unit is one of its own council's.
        assert (
            count(conn, "select count(*) from rms.org_units where left(unit_code, 7) <> council_code || '-'")
            == 0
        )
        assert (
            count(
                conn,
                "select count(*) from (select unit_code, effective_from from rms.org_units group by 1, 2 having count(*) > 1) d",
            )
            == 0
        )
        assert (
            count(
                conn,
                "select count(*) from rms.cases c left join rms.org_units u using (council_code, unit_code) "
                "where u.unit_code is null",
            )
            == 0
        )
        assert (
            count(
                conn,
                "select count(*) from rms.case_stages s left join rms.cases c using (case_ref) where c.case_ref is null",
            )
            == 0
        )
        assert (
            count(
                conn,
                "select count(*) from rms.payments p left join rms.remedies r using (remedy_no) "
                "where p.remedy_no is not null and r.remedy_no is null",
            )
            == 0
        )
        assert (
            count(conn, "select count(distinct left(case_ref, 6)) from rms.lgsco_cases") == 5
            or lgsco_before == 0
        )
        assert (
            count(
                conn,
                "select count(*) from rms.lgsco_cases where substr(lgsco_ref, 4, 3) <> right(left(case_ref, 6), 3)",
            )
            == 0
        )
        assert count(conn, "select value::int from sim.state where key = 'councils'") == 5
        # Keys and indexes dropped for the copy are all back.
        assert conn.execute(KEYS_AND_INDEXES).fetchall() == keys_and_indexes
    assert counts["cases"] == sum(per_council.values())
    # Copies of SIM001 (two of them) and of SIM002 (one): every table grows in step.
    assert counts["case_stages"] > before["case_stages"] * 2


def test_a_nights_change_touches_the_share_asked_for_and_is_stamped_the_next_day(warehouse):
    sim = simulated_source.simulator(warehouse, f"sim_{uuid.uuid4().hex[:10]}")
    sim.create(councils_count=3, start=date(2023, 4, 1), until=date(2024, 3, 31), seed=6)
    with psycopg.connect(sim.conninfo) as conn:
        cases = count(conn, "select count(*) from rms.cases")
    changed = scale.change_share(sim.conninfo, 0.05)  # 5 %, so a small system shows every kind of change
    assert set(changed) == set(scale.CHANGE_MIX)
    assert all(n > 0 for n in changed.values()), changed
    assert 0.03 * cases < sum(changed.values()) < 0.07 * cases
    with psycopg.connect(sim.conninfo) as conn:
        assert sim.today == date(2024, 4, 1)
        stamped = "modified_at = '2024-04-01 09:30+00'"
        assert (
            count(conn, f"select count(*) from rms.cases where {stamped} and case_ref not like '%%-L%%'")
            == (changed["corrected_cases"])
        )
        assert (
            count(
                conn, f"select count(*) from rms.case_stages where {stamped} and case_ref not like '%%-L%%'"
            )
            == (changed["corrected_stages"])
        )
        assert (
            count(conn, "select count(*) from rms.cases where case_ref like '%%-L%%'")
            == changed["registered_late"]
        )
        deleted = [
            r[0] for r in conn.execute("select case_ref from sim.cases where deleted_on = '2024-04-01'")
        ]
        assert len(deleted) == changed["deleted"]
        for table in schema.CASE_TABLES:
            assert count(conn, f"select count(*) from rms.{table} where case_ref = any(%s)", (deleted,)) == 0
        assert (
            count(conn, "select count(*) from rms.cases")
            == cases + changed["registered_late"] - changed["deleted"]
        )
