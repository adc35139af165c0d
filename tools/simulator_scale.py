"""National scale, set-based: copy a few simulated councils to hundreds, and change a share of a night's rows.

Simulating a case in Python costs a few hundred microseconds, so hundreds of councils over ten years would
take most of an hour. ``replicate_councils`` instead simulates only a handful of template councils with
the simulator and copies each to further councils in SQL inside the simulator's database: council code,
case, contact, complaint point, remedy and payment references and Ombudsman references are rewritten,
so every council's rows are its own and keys stay unique; volumes and rates are those of its template.
Organisation unit codes, which a one-council system leaves bare ("ASC01"), are qualified by council
("SIM001-ASC01") once the system holds several: the warehouse keys service areas by code within a
source system, as a shared service's case system would have to.

``change_share`` makes a night's worth of change at the source, also set-based: late corrections to
cases and to stage outcomes, cases registered late, and deletions, each touching a fixed share of cases
picked by a hash of the case reference (deterministic), all stamped on the day after the system's today.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from psycopg import sql

from case_system_simulator import schema
from case_system_simulator.plan import stamp

#: Columns holding a reference that starts with the council code ("SIM001-...").
PREFIXED = {"contact_no", "case_ref", "issue_no", "remedy_no", "payment_no", "unit_code"}
#: The tables whose unit codes are qualified by council when the system holds several councils.
UNIT_TABLES = tuple(
    t for t, columns in schema.COLUMNS.items() if {"unit_code", "council_code"} <= set(columns)
)
CODE_LENGTH = len("SIM001")
SECONDARY_INDEXES = (
    *(f"rms.{line.split()[5]}" for line in schema.INDEXES.split(";") if line.strip()),
    "sim.sim_cases_active",
)
MAX_COUNCILS = 999  # council codes and Ombudsman references carry three digits


def _select_list(columns: tuple[str, ...]) -> sql.Composed:
    """The template row's columns, rewritten for the copy ``k`` (alias of the clone mapping)."""
    parts = []
    for column in columns:
        name = sql.Identifier(column)
        if column == "council_code":
            parts.append(sql.SQL("k.code"))
        elif column in PREFIXED:
            parts.append(sql.SQL("k.code || substr(t.{}, {})").format(name, sql.Literal(CODE_LENGTH + 1)))
        elif column == "lgsco_ref":  # "YY CCC NNN": the council's number sits in the middle
            parts.append(
                sql.SQL("left(t.lgsco_ref, 3) || lpad(k.idx::text, 3, '0') || substr(t.lgsco_ref, 7)")
            )
        else:
            parts.append(sql.SQL("t.{}").format(name))
    return sql.SQL(", ").join(parts)


def replicate_councils(conninfo: str, total: int) -> dict[str, int]:
    """Copy the simulated councils (the templates) until the system has ``total`` councils: council
    ``n`` copies template ``(n - 1) % templates + 1``. Returns rows per table after the copy."""
    if total > MAX_COUNCILS:
        raise ValueError(f"at most {MAX_COUNCILS} councils (codes carry three digits), not {total}")
    with psycopg.connect(conninfo) as conn:
        templates = int(conn.execute("select value from sim.state where key = 'councils'").fetchone()[0])
        if max(total, templates) > 1:
            _qualify_unit_codes(conn)
        if total > templates:
            conn.execute(
                "create temp table clones on commit drop as select idx, format('SIM%%s', lpad(idx::text, 3, '0')) as code, "
                "format('SIM%%s', lpad(((idx - 1) %% %s::int + 1)::text, 3, '0')) as template "
                "from generate_series(%s::int, %s::int) as idx",
                (templates, templates + 1, total),
            )
            tables = [("rms", t) for t in schema.COLUMNS] + [
                ("sim", "cases", ("case_ref", "council_code", "case_no", "date_received", "last_event")),
                ("sim", "lgsco_refs", ("case_ref", "lgsco_ref")),
            ]
            # Keys and indexes are built once, sorted, after the copy rather than entry by entry during it
            # (the keys are checked then: a copy that collided would fail there).
            for index in SECONDARY_INDEXES:
                conn.execute(sql.SQL("drop index if exists {}").format(sql.Identifier(*index.split("."))))
            constraints = conn.execute(
                "select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint "
                "where contype in ('p', 'u') and connamespace::regnamespace::text in ('rms', 'sim')"
            ).fetchall()
            for table, name, _ in constraints:
                conn.execute(
                    sql.SQL("alter table {} drop constraint {}").format(sql.SQL(table), sql.Identifier(name))
                )
            for entry in tables:
                schema_name, table = entry[0], entry[1]
                columns = entry[2] if len(entry) > 2 else schema.COLUMNS[table]
                council = (
                    "t.council_code" if "council_code" in columns else f"left(t.case_ref, {CODE_LENGTH})"
                )
                conn.execute(
                    sql.SQL(
                        "insert into {} ({}) select {} from {} t join clones k on k.template = {}"
                    ).format(
                        sql.Identifier(schema_name, table),
                        sql.SQL(", ").join(map(sql.Identifier, columns)),
                        _select_list(columns),
                        sql.Identifier(schema_name, table),
                        sql.SQL(council),
                    )
                )
            for table, name, definition in constraints:
                conn.execute(
                    sql.SQL("alter table {} add constraint {} {}").format(
                        sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
                    )
                )
            conn.execute(schema.INDEXES)
            conn.execute("create index if not exists sim_cases_active on sim.cases (last_event)")
            conn.execute("update sim.state set value = %s where key = 'councils'", (str(total),))
        counts = {
            table: conn.execute(
                sql.SQL("select count(*) from {}").format(sql.Identifier("rms", table))
            ).fetchone()[0]
            for table in schema.COLUMNS
        }
        conn.execute("analyze")
    return counts


def _qualify_unit_codes(conn: psycopg.Connection) -> None:
    """Prefix each organisation unit code with its council's code (once: qualified codes are left)."""
    for table in UNIT_TABLES:
        conn.execute(
            sql.SQL(
                "update {} set unit_code = council_code || '-' || unit_code "
                "where unit_code not like council_code || '-%'"
            ).format(sql.Identifier("rms", table))
        )


#: Shares of cases touched by one night's change (together 0.5 %).
CHANGE_MIX = {
    "corrected_cases": 0.0025,
    "corrected_stages": 0.0015,
    "registered_late": 0.0005,
    "deleted": 0.0005,
}


def change_share(conninfo: str, share: float = 0.005) -> dict[str, int]:
    """Move the system on one day with ``share`` of its cases changed (in the proportions of
    ``CHANGE_MIX``); returns how many cases each kind of change touched."""
    scale = share / sum(CHANGE_MIX.values())
    with psycopg.connect(conninfo) as conn:
        today = date.fromisoformat(
            conn.execute("select value from sim.state where key = 'today'").fetchone()[0]
        )
        day = today + timedelta(days=1)
        salt = f":{day.isoformat()}:"

        def picked(kind: str, offset: int) -> sql.Composed:
            # Disjoint slices of one hash per case, so no case gets two kinds of change.
            per_million = round(CHANGE_MIX[kind] * scale * 1_000_000)
            return sql.SQL("mod(abs(hashtext(case_ref || {})), 1000000) between {} and {}").format(
                sql.Literal(salt), sql.Literal(offset), sql.Literal(offset + per_million - 1)
            )

        offsets, start = {}, 0
        for kind in CHANGE_MIX:
            offsets[kind] = start
            start += round(CHANGE_MIX[kind] * scale * 1_000_000)
        when = stamp(day, 30)
        done = {}
        done["corrected_cases"] = conn.execute(
            sql.SQL(
                "update rms.cases set channel_code = case channel_code when 'WEB' then 'EML' else 'WEB' end, "
                "modified_at = %s where {}"
            ).format(picked("corrected_cases", offsets["corrected_cases"])),
            (when,),
        ).rowcount
        done["corrected_stages"] = conn.execute(
            sql.SQL(
                "update rms.case_stages s set outcome_code = case s.outcome_code when 'UPH' then 'PUP' else 'UPH' end, "
                "modified_at = %s from (select case_ref, max(stage_code) as stage_code from rms.case_stages "
                "where stage_code like 'S%%' and date_responded is not null and {} group by case_ref) l "
                "where s.case_ref = l.case_ref and s.stage_code = l.stage_code"
            ).format(picked("corrected_stages", offsets["corrected_stages"])),
            (when,),
        ).rowcount
        # Cases registered late: copies of last month's cases under new references ("SIM001-L0000123").
        late = picked("registered_late", offsets["registered_late"])
        conn.execute(
            sql.SQL(
                "create temp table late on commit drop as select case_ref, left(case_ref, {}) || '-L' || "
                "substr(case_ref, {}) as new_ref from rms.cases where date_received > %s and {}"
            ).format(sql.Literal(CODE_LENGTH), sql.Literal(CODE_LENGTH + 2), late),
            (today - timedelta(days=31),),
        )
        for table in ("cases", "case_issues", "case_stages"):
            columns = schema.COLUMNS[table]
            select = sql.SQL(", ").join(
                sql.SQL("l.new_ref")
                if c == "case_ref"
                else sql.SQL("l.new_ref || substr(t.issue_no, length(t.case_ref) + 1)")
                if c == "issue_no"
                else sql.SQL("%(when)s")
                if c == "modified_at"
                else sql.SQL("t.{}").format(sql.Identifier(c))
                for c in columns
            )
            conn.execute(
                sql.SQL(
                    "insert into {} ({}) select {} from {} t join late l on l.case_ref = t.case_ref"
                ).format(
                    sql.Identifier("rms", table),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    select,
                    sql.Identifier("rms", table),
                ),
                {"when": when},
            )
        done["registered_late"] = conn.execute("select count(*) from late").fetchone()[0]
        deleted = picked("deleted", offsets["deleted"])
        refs = [
            r[0] for r in conn.execute(sql.SQL("select case_ref from rms.cases where {}").format(deleted))
        ]
        for table in schema.CASE_TABLES:
            conn.execute(
                sql.SQL("delete from {} where case_ref = any(%s)").format(sql.Identifier("rms", table)),
                (refs,),
            )
        conn.execute("update sim.cases set deleted_on = %s where case_ref = any(%s)", (day, refs))
        done["deleted"] = len(refs)
        conn.execute("update sim.state set value = %s where key = 'today'", (day.isoformat(),))
    return done
