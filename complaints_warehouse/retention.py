"""Retention: complainants' personal data is kept for a set period after their last case closed, then purged.

Councils keep complaint records for six years after the case closed (``WAREHOUSE_RETENTION_YEARS``,
default 6). A complainant's personal data expires when none of their cases is open and the last of them
closed before the cutoff (today less the period); a complainant with no case expires when their record
was last updated before the cutoff. A purge then removes, in one transaction:

* their identity: every version in ``restricted.complainants`` and their row in its current-version index;
* refused personal rows (``restricted.quarantine``) that carry them, or that were refused before the cutoff;
* the source's complainant identifier from rows refused before the cutoff in ``audit.quarantine``
  (rows quarantined since the loader pseudonymises it there carry only the pseudonym).

* columns the case-system contract does not know: their rows in ``restricted.unknown_columns`` (see
  ``ingestion.source_config``), and, where an older release kept them, the ``_extra`` of the expired
  complainants' case rows and the unknown keys of their (and any pre-cutoff) rows in ``audit.quarantine``.

Rows deleted are counted against the batches that loaded them (``audit.load_batches.rows_purged`` and
``quarantined_purged``), so the ledger still reconciles with the raw tables and the quarantine.

Cases, stages, remedies and payments stay: they hold only the pseudonym, so the marts and every published
figure are unaffected. Each purge -- a dry run too -- is recorded in ``audit.retention_purges`` (who, when,
the cutoff, rows per table). A source that still holds a person and sends them again brings them back:
the source system's own retention must delete them too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from psycopg import sql
from psycopg.types.json import Jsonb

from complaints_warehouse.warehouse.database import Connection, connect
from ingestion import ledger

#: Complainants whose personal data is past retention at %(cutoff)s (see the module's docstring).
EXPIRED_COMPLAINANTS = """
create temporary table expired_complainants on commit drop as
with latest_case as (
    -- the latest version of every case the warehouse holds, per source system: by the source's own time,
    -- then batch, as everywhere a current version is chosen (ingestion/raw_tables.py)
    select distinct on (r._source_system, r.representation_id)
        r._source_system, r.representation_id, r.complainant_pseudonym, r.status, r.closed_date, r.received_date
    from raw_case_system.representations as r
    where not r._is_deleted
    order by r._source_system, r.representation_id, r.updated_at desc nulls last, r._batch_id desc
),
case_ends as (
    select
        l.complainant_pseudonym,
        bool_or(l.status <> 'closed' and not coalesce(cur._is_deleted, false)) as has_open_case,
        max(coalesce(l.closed_date, l.received_date)) as last_closed
    from latest_case as l
    left join raw_case_system.representations__current as cur
        on cur._source_system = l._source_system and cur.representation_id = l.representation_id
    where l.complainant_pseudonym is not null
    group by l.complainant_pseudonym
),
held as (
    select complainant_pseudonym, max(updated_at) as last_updated, array_agg(distinct complainant_id) as ids
    from restricted.complainants
    group by complainant_pseudonym
)
select h.complainant_pseudonym, h.ids
from held as h
left join case_ends as c on c.complainant_pseudonym = h.complainant_pseudonym
where not coalesce(c.has_open_case, false)
    and coalesce(c.last_closed, h.last_updated::date) < %(cutoff)s
"""


#: The cases (per source system) of complainants past retention.
EXPIRED_CASES = """
create temporary table expired_cases on commit drop as
select distinct _source_system, representation_id from raw_case_system.representations
where complainant_pseudonym in (select complainant_pseudonym from expired_complainants)
"""


def _case_system_tables():
    from ingestion.case_system import contract as case_system

    return case_system.TABLES


def _unknown_column_purges() -> tuple[tuple[str, sql.Composable], ...]:
    """Columns a case-system source delivered that its contract does not know, wherever an older
    release (or ``unknown_columns: keep``) put them: the raw rows' ``_extra`` of the expired
    complainants' cases, and rows refused before the cutoff or carrying them in ``audit.quarantine``
    (every key the contract does not know is removed). Table and column names come from the contracts."""
    purges: list[tuple[str, sql.Composable]] = [
        (
            "restricted.unknown_columns",
            sql.SQL(
                "with gone as (delete from restricted.unknown_columns u "
                "where u.complainant_pseudonym in (select complainant_pseudonym from expired_complainants) "
                "or exists (select 1 from expired_cases e where e._source_system = u.source_system "
                "and e.representation_id = u.representation_id) "
                "or (u.complainant_pseudonym is null and u.representation_id is null and u.kept_at < %(cutoff)s) "
                "returning 1) select count(*) from gone"
            ),
        )
    ]
    for table in _case_system_tables():
        if table.personal or "representation_id" not in {c.name for c in table.columns}:
            continue  # a personal table's _extra is in restricted, purged with its row
        purges.append(
            (
                f"{table.raw_schema}.{table.name}._extra",
                sql.SQL(
                    "with changed as (update {raw} t set _extra = null where t._extra is not null and exists ("
                    "select 1 from expired_cases e where e._source_system = t._source_system "
                    "and e.representation_id = t.representation_id) returning 1) select count(*) from changed"
                ).format(raw=sql.Identifier(table.raw_schema, table.name)),
            )
        )
    known = sql.SQL(", ").join(
        sql.SQL("({}, {}::text[])").format(
            sql.Literal(t.name),
            sql.Literal(
                sorted(
                    {c.name for c in t.columns} | {c.pseudonym_column for c in t.columns if c.pseudonymise}
                )
            ),
        )
        for t in _case_system_tables()
        if not t.personal
    )
    purges.append(
        (
            "audit.quarantine unknown columns",
            sql.SQL(
                "with changed as (update audit.quarantine q set raw_row = ("
                "select coalesce(jsonb_object_agg(e.key, e.value), '{{}}'::jsonb) from jsonb_each(q.raw_row) e "
                "where e.key = any(k.known)) "
                "from (values {known}) k (table_name, known) "
                "where q.source = 'case_system' and q.table_name = k.table_name "
                "and exists (select 1 from jsonb_object_keys(q.raw_row) o where o <> all(k.known)) "
                "and (q.quarantined_at < %(cutoff)s "
                "or q.raw_row ->> 'complainant_pseudonym' in (select complainant_pseudonym from expired_complainants) "
                "or q.raw_row ->> 'representation_id' in (select representation_id from expired_cases)) "
                "returning 1) select count(*) from changed"
            ).format(known=known),
        )
    )
    return tuple(purges)


#: (what is purged, the statement): each reads expired_complainants and %(cutoff)s, and returns the
#: count of rows it purged.
PURGES = (
    (
        "restricted.complainants",
        ledger.count_purged(
            "delete from restricted.complainants "
            "where complainant_pseudonym in (select complainant_pseudonym from expired_complainants) "
            "returning _batch_id",
            "_batch_id",
            "rows_purged",
        ),
    ),
    (
        "restricted.complainants__current",
        "with gone as (delete from restricted.complainants__current "
        "where complainant_pseudonym in (select complainant_pseudonym from expired_complainants) returning 1) "
        "select count(*) from gone",
    ),
    (
        "restricted.quarantine",
        ledger.count_purged(
            "delete from restricted.quarantine where quarantined_at < %(cutoff)s "
            "or raw_row ->> 'complainant_id' in (select unnest(ids) from expired_complainants) "
            "returning batch_id",
            "batch_id",
            "quarantined_purged",
        ),
    ),
    (
        "audit.quarantine",
        "with changed as (update audit.quarantine set raw_row = raw_row - 'complainant_id' "
        "where raw_row ? 'complainant_id' and (quarantined_at < %(cutoff)s "
        "or raw_row ->> 'complainant_id' in (select unnest(ids) from expired_complainants)) returning 1) "
        "select count(*) from changed",
    ),
)


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, in a dry run, would have removed)."""

    purge_id: int
    cutoff: date
    retention_years: int
    dry_run: bool
    complainants: int
    rows_by_table: dict[str, int]

    def as_dict(self) -> dict:
        return {**asdict(self), "cutoff": self.cutoff.isoformat()}


def cutoff_date(years: int, today: date | None = None) -> date:
    """``today`` less ``years`` whole years (29 February becomes the 28th)."""
    today = today or date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def purge_expired(
    target: Connection,
    *,
    purged_by: str,
    years: int,
    today: date | None = None,
    dry_run: bool = False,
) -> Purge:
    """Purge personal data past retention (see the module's docstring), all or nothing, and record it.

    ``dry_run`` counts what would go, records that, and changes nothing else.
    """
    params = {"cutoff": cutoff_date(years, today)}
    with connect(target) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.retention'))")
        conn.execute(EXPIRED_COMPLAINANTS, params)
        conn.execute(EXPIRED_CASES)
        complainants = conn.execute("select count(*) from expired_complainants").fetchone()[0]
        counts: dict[str, int] = {}
        # A dry run makes the same changes inside a savepoint and rolls them back: its counts are exact.
        with conn.transaction(force_rollback=dry_run):
            for table, statement in PURGES:
                counts[table] = conn.execute(statement, params).fetchone()[0]
            # Copies of unknown columns: on record only where there were some.
            for table, statement in _unknown_column_purges():
                found = conn.execute(statement, params).fetchone()[0]
                if found:
                    counts[table] = found
        purge_id = conn.execute(
            "insert into audit.retention_purges (purged_by, retention_years, cutoff, dry_run, complainants, "
            "rows_by_table) values (%s || ' (' || session_user || ')', %s, %s, %s, %s, %s) returning purge_id",
            (purged_by, years, params["cutoff"], dry_run, complainants, Jsonb(counts)),
        ).fetchone()[0]
    return Purge(purge_id, params["cutoff"], years, dry_run, complainants, counts)
