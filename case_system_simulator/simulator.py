"""Create a simulated council case system in its own database, and move it forward a day at a time."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg import sql

from case_system_simulator import calibration as cal
from case_system_simulator import contacts, schema
from case_system_simulator.plan import UNITS, WorkingDays, materialise, plan_case, stamp

CHUNK_CASES = 20_000


@dataclass(frozen=True)
class Council:
    code: str
    index: int


def councils(count: int) -> list[Council]:
    return [Council(f"SIM{i:03d}", i) for i in range(1, count + 1)]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: exact, and fast enough for the small daily means of one council.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def daily_volume(seed: int, council: str, day: date, per_year: int) -> int:
    rng = random.Random(f"{seed}:{council}:{day.isoformat()}:volume")
    weekday_share = 0.92  # most representations arrive on weekdays
    mean = per_year * (weekday_share / 261 if day.weekday() < 5 else (1 - weekday_share) / 104)
    return _poisson(rng, mean)


def choose_unit(seed: int, council: str, case_no: int) -> str:
    rng = random.Random(f"{seed}:{council}:{case_no}:unit")
    procedure = rng.choices(list(cal.PROCEDURE_SHARES), weights=list(cal.PROCEDURE_SHARES.values()))[0]
    return rng.choice([code for code, _, _, p in UNITS if p == procedure])


class CaseSystemSimulator:
    """A council case system in the database at ``conninfo`` (schemas ``rms`` and ``sim``)."""

    def __init__(self, conninfo: str):
        self.conninfo = conninfo

    # -- state ---------------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=False)

    def state(self) -> dict[str, str]:
        with self._connect() as conn:
            if not conn.execute("select to_regclass('sim.state') is not null").fetchone()[0]:
                return {}
            return dict(conn.execute("select key, value from sim.state").fetchall())

    @property
    def today(self) -> date:
        return date.fromisoformat(self.state()["today"])

    def exists(self) -> bool:
        return "today" in self.state()

    # -- creation ------------------------------------------------------------------------------
    def create(
        self,
        *,
        councils_count: int = 1,
        start: date = date(2023, 4, 1),
        until: date = date(2024, 3, 31),
        seed: int = 42,
        representations_per_year: int = cal.REPRESENTATIONS_PER_YEAR,
        progress=None,
    ) -> dict[str, int]:
        """Build the system as it stood at the end of ``until``: every case received since ``start``."""
        wd = WorkingDays(start.year, until.year + 3)
        with self._connect() as conn:
            conn.execute("drop schema if exists rms cascade; drop schema if exists sim cascade")
            conn.execute(schema.DDL)
            state = {
                "seed": str(seed),
                "start": start.isoformat(),
                "today": until.isoformat(),
                "councils": str(councils_count),
                "per_year": str(representations_per_year),
            }
            with conn.cursor() as cur:
                cur.executemany("insert into sim.state values (%s, %s)", list(state.items()))
            units = self._create_units(conn, councils(councils_count), start)
            totals = self._write_cases(
                conn,
                self._new_cases(seed, councils(councils_count), start, until, representations_per_year),
                until,
                units,
                wd,
                progress,
            )
            conn.execute(schema.INDEXES)
            conn.commit()
        return totals

    def _create_units(self, conn, council_list: list[Council], start: date) -> dict:
        rows = [
            (c.code, code, name, directorate, start, None, stamp(start))
            for c in council_list
            for code, name, directorate, _ in UNITS
        ]
        self._copy(conn, "org_units", rows)
        return self._units(conn)

    @staticmethod
    def _units(conn) -> dict[tuple[str, str], list[tuple[date, str, str]]]:
        units: dict[tuple[str, str], list[tuple[date, str, str]]] = {}
        for council, code, name, directorate, effective_from in conn.execute(
            "select council_code, unit_code, unit_name, directorate_name, effective_from from rms.org_units "
            "order by effective_from"
        ):
            units.setdefault((council, code), []).append((effective_from, name, directorate))
        return units

    @staticmethod
    def _unit_on(units, council: str, unit: str, day: date) -> tuple[str, str]:
        versions = units[(council, unit)]
        current = versions[0]
        for version in versions:
            if version[0] <= day:
                current = version
        return current[1], current[2]

    def _new_cases(self, seed, council_list, first: date, last: date, per_year: int, start_numbers=None):
        """(council, case number, date received, unit) for every case received from first to last."""
        numbers = dict(start_numbers or {})
        day = first
        while day <= last:
            for council in council_list:
                for _ in range(daily_volume(seed, council.code, day, per_year)):
                    number = numbers.get(council.code, 0) + 1
                    numbers[council.code] = number
                    yield council.code, number, day, choose_unit(seed, council.code, number)
            day += timedelta(days=1)

    def _write_cases(
        self, conn, new_cases: Iterable, as_of: date, units, wd, progress=None, reopened=None
    ) -> dict:
        seed = int(self._state_value(conn, "seed"))
        totals = dict.fromkeys(schema.CASE_TABLES, 0)
        index_rows, seen_contacts = [], set()
        batch: dict[str, list[tuple]] = {t: [] for t in schema.CASE_TABLES}
        written = 0
        for council, number, received, unit in new_cases:
            reopen = (reopened or {}).get(f"{council}-{number:07d}")
            plan = plan_case(seed, council, number, received, unit, wd, reopened_on=reopen)
            name, directorate = self._unit_on(units, council, unit, received)
            for table, rows in materialise(plan, as_of, name, directorate).items():
                batch[table].extend(rows)
            seen_contacts.add((plan.contact_no, council, received))
            index_rows.append((plan.case_ref, council, number, received, plan.last_event, reopen))
            written += 1
            if written % CHUNK_CASES == 0:
                self._flush(conn, batch, index_rows, seen_contacts, totals)
                if progress:
                    progress(written)
        self._flush(conn, batch, index_rows, seen_contacts, totals)
        totals["cases_written"] = written
        return totals

    def _flush(self, conn, batch, index_rows, seen_contacts, totals) -> None:
        self._assign_ombudsman_references(conn, batch["lgsco_cases"])
        for table, rows in batch.items():
            self._copy(conn, table, rows)
            totals[table] += len(rows)
            rows.clear()
        self._copy_into(
            conn,
            "sim.cases",
            ("case_ref", "council_code", "case_no", "date_received", "last_event", "reopened_on"),
            index_rows,
        )
        index_rows.clear()
        new = [contacts.contact_row(no, council, first) for no, council, first in seen_contacts]
        conn.execute("create temp table if not exists new_contacts (like rms.contacts) on commit drop")
        conn.execute("truncate new_contacts")
        self._copy_into(conn, "new_contacts", schema.COLUMNS["contacts"], new)
        conn.execute(
            "insert into rms.contacts select distinct on (contact_no) * from new_contacts "
            "order by contact_no, modified_at on conflict (contact_no) do nothing"
        )
        seen_contacts.clear()

    @staticmethod
    def _assign_ombudsman_references(conn, rows: list[tuple]) -> None:
        """Give each Ombudsman case its reference, "YY CCC NNN": year, council, that council's count in
        the year. A case keeps its reference for good (kept in sim.lgsco_refs)."""
        if not rows:
            return
        refs = [r[1] for r in rows]
        known = dict(
            conn.execute(
                "select case_ref, lgsco_ref from sim.lgsco_refs where case_ref = any(%s)", (refs,)
            ).fetchall()
        )
        used = dict(
            conn.execute(
                "select left(lgsco_ref, 6), max(right(lgsco_ref, 3)::int) from sim.lgsco_refs group by 1"
            ).fetchall()
        )
        new = []
        for i, row in enumerate(rows):
            case_ref = row[1]
            if case_ref not in known:
                council_index = int(case_ref.split("-")[0][-3:])
                prefix = f"{row[0]} {council_index:03d}"
                used[prefix] = used.get(prefix, 0) + 1
                known[case_ref] = f"{prefix} {used[prefix]:03d}"
                new.append((case_ref, known[case_ref]))
            rows[i] = (known[case_ref], *row[1:])
        if new:
            with conn.cursor() as cur:
                cur.executemany("insert into sim.lgsco_refs values (%s, %s)", new)

    def _copy(self, conn, table: str, rows: list[tuple]) -> None:
        self._copy_into(conn, f"rms.{table}", schema.COLUMNS[table], rows)

    @staticmethod
    def _copy_into(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        schema_name, _, name = table.rpartition(".")
        target = sql.Identifier(schema_name, name) if schema_name else sql.Identifier(name)
        statement = sql.SQL("copy {} ({}) from stdin").format(
            target, sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with conn.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    @staticmethod
    def _state_value(conn, key: str) -> str:
        return conn.execute("select value from sim.state where key = %s", (key,)).fetchone()[0]

    # -- moving forward ------------------------------------------------------------------------
    def advance(self, days: int = 1) -> list[dict]:
        """Move the system forward ``days`` days; return what happened each day."""
        return [self._advance_one_day() for _ in range(days)]

    def _advance_one_day(self) -> dict:
        with self._connect() as conn:
            state = dict(conn.execute("select key, value from sim.state").fetchall())
            seed, per_year = int(state["seed"]), int(state["per_year"])
            day = date.fromisoformat(state["today"]) + timedelta(days=1)
            council_list = councils(int(state["councils"]))
            wd = WorkingDays(date.fromisoformat(state["start"]).year, day.year + 3)
            rng = random.Random(f"{seed}:advance:{day.isoformat()}")
            report = {"day": day.isoformat()}
            if day.month == 4 and day.day == 1:
                report["reorganised"] = self._reorganise(conn, council_list, day, rng)
            units = self._units(conn)

            numbers = dict(
                conn.execute("select council_code, max(case_no) from sim.cases group by 1").fetchall()
            )
            new = list(self._new_cases(seed, council_list, day, day, per_year, numbers))
            report["received"] = len(new)

            report["reopened"] = self._pick_and_mark(
                conn,
                rng,
                day,
                "reopened_on",
                cal.REOPENINGS_PER_COUNCIL_DAY,
                council_list,
                "c.reopened_on is null and c.last_event >= %(day)s::date - 120 "
                "and exists (select 1 from rms.case_stages s where s.case_ref = c.case_ref "
                "and s.stage_code in ('S1') and s.date_responded < %(day)s) "
                "and not exists (select 1 from rms.cases r where r.case_ref = c.case_ref "
                "and (r.procedure_code = 'ASC' or r.case_status = 'O'))",
            )
            deleted = self._pick_and_mark(
                conn,
                rng,
                day,
                "deleted_on",
                cal.DELETIONS_PER_COUNCIL_DAY,
                council_list,
                "c.date_received >= %(day)s::date - 30",
            )
            for table in schema.CASE_TABLES:
                conn.execute(
                    sql.SQL("delete from {} where case_ref = any(%s)").format(sql.Identifier("rms", table)),
                    (deleted,),
                )
            report["deleted"] = len(deleted)

            # Everything still moving (and everything just reopened) is re-shown as it stands today.
            active = conn.execute(
                "select case_ref, council_code, case_no, date_received, reopened_on from sim.cases "
                "where deleted_on is null and (last_event >= %s or reopened_on = %s)",
                (day, day),
            ).fetchall()
            refs = [a[0] for a in active]
            for table in schema.CASE_TABLES:
                conn.execute(
                    sql.SQL("delete from {} where case_ref = any(%s)").format(sql.Identifier("rms", table)),
                    (refs,),
                )
            conn.execute("delete from sim.cases where case_ref = any(%s)", (refs,))
            reopened = {a[0]: a[4] for a in active if a[4]}
            moving = [(a[1], a[2], a[3], choose_unit(seed, a[1], a[2])) for a in active]
            self._write_cases(conn, [*moving, *new], day, units, wd, reopened=reopened)
            conn.execute(
                "update sim.cases c set deleted_on = d.deleted_on from (select unnest(%s::text[]) as case_ref, %s::date as deleted_on) d "
                "where c.case_ref = d.case_ref",
                (deleted, day),
            )
            self._reapply_corrections(conn, refs)
            report["progressed"] = len(active)
            report["corrected"] = self._correct(conn, rng, day, council_list)
            conn.execute("update sim.state set value = %s where key = 'today'", (day.isoformat(),))
            conn.commit()
        return report

    def _pick_and_mark(self, conn, rng, day, column, per_council_day, council_list, condition) -> list[str]:
        count = sum(rng.random() < per_council_day for _ in council_list)
        if not count:
            return []
        candidates = [
            r[0]
            for r in conn.execute(
                sql.SQL(
                    "select c.case_ref from sim.cases c where c.deleted_on is null and {} order by c.case_ref"
                ).format(sql.SQL(condition)),
                {"day": day},
            )
        ]
        chosen = rng.sample(candidates, min(count, len(candidates)))
        if chosen:
            conn.execute(
                sql.SQL("update sim.cases set {} = %s where case_ref = any(%s)").format(
                    sql.Identifier(column)
                ),
                (day, chosen),
            )
        return chosen

    def _reorganise(self, conn, council_list, day: date, rng: random.Random) -> list[str]:
        """Each new financial year one service area moves directorate (councils reorganise)."""
        moved = []
        for council in council_list:
            code, name, directorate, _ = rng.choice(UNITS)
            new_directorate = rng.choice(sorted({u[2] for u in UNITS} - {directorate} | {"Place"}))
            conn.execute(
                "update rms.org_units set effective_to = %s, modified_at = %s where council_code = %s "
                "and unit_code = %s and effective_to is null",
                (day - timedelta(days=1), stamp(day), council.code, code),
            )
            conn.execute(
                "insert into rms.org_units values (%s, %s, %s, %s, %s, null, %s)",
                (council.code, code, name, new_directorate, day, stamp(day)),
            )
            moved.append(f"{council.code}:{code}->{new_directorate}")
        return moved

    def _correct(self, conn, rng, day: date, council_list) -> int:
        """Late corrections to old, closed cases: a mistyped channel, an outcome revised on review."""
        count = sum(rng.random() < cal.LATE_CORRECTIONS_PER_COUNCIL_DAY for _ in council_list)
        closed = [
            r[0]
            for r in conn.execute(
                "select case_ref from rms.cases where case_status = 'C' and date_received < %s - 30 order by case_ref",
                (day,),
            )
        ]
        made = 0
        for case_ref in rng.sample(closed, min(count, len(closed))):
            if rng.random() < 0.5:
                table, field, value = "cases", "channel_code", rng.choice(["WEB", "EML", "TEL", "LET"])
            else:
                table, field, value = "case_stages", "outcome_code", rng.choice(["UPH", "PUP", "NUP"])
            conn.execute(
                "insert into sim.corrections values (%s, %s, %s, %s, %s)",
                (case_ref, table, field, value, day),
            )
            self._apply_correction(conn, case_ref, table, field, value, day)
            made += 1
        return made

    @staticmethod
    def _apply_correction(conn, case_ref, table, field, value, day) -> None:
        """Corrections to a stage land on the case's latest answered council stage."""
        if table == "cases":
            where, params = sql.SQL("case_ref = %s"), (case_ref,)
        else:
            where = sql.SQL(
                "case_ref = %s and stage_code = (select max(stage_code) from rms.case_stages where case_ref = %s "
                "and stage_code like 'S%%' and date_responded is not null)"
            )
            params = (case_ref, case_ref)
        conn.execute(
            sql.SQL("update {} set {} = %s, modified_at = greatest(modified_at, %s) where {}").format(
                sql.Identifier("rms", table), sql.Identifier(field), where
            ),
            (value, stamp(day, 30), *params),
        )

    def _reapply_corrections(self, conn, refs: list[str]) -> None:
        for case_ref, table, field, value, made_on in conn.execute(
            "select case_ref, table_name, field, value, made_on from sim.corrections where case_ref = any(%s) "
            "order by made_on",
            (refs,),
        ).fetchall():
            self._apply_correction(conn, case_ref, table, field, value, made_on)
