"""Retention: complainants' personal data is kept for a set period after their last case closed, then purged.

Councils keep complaint records for six years after the case closed (``WAREHOUSE_RETENTION_YEARS``,
default 6). A complainant's personal data expires when none of their cases is open and the last of them
closed before the cutoff (today less the period); a complainant with no case expires when their record
was last updated before the cutoff. A purge then removes, in one transaction:

* their identity: every version in ``restricted.complainants`` and their row in its current-version index;
* refused personal rows (``restricted.quarantine``) that carry them, or that were refused before the cutoff;
* the source's complainant identifier from rows refused before the cutoff in ``audit.quarantine``
  (rows quarantined since the loader pseudonymises it there carry only the pseudonym).

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

from complaints_warehouse.database import Connection, connect
from complaints_warehouse.settings import retention_years

#: Complainants whose personal data is past retention at %(cutoff)s (see the module's docstring).
EXPIRED_COMPLAINANTS = """
create temporary table expired_complainants on commit drop as
with latest_case as (
    -- the latest version of every case the warehouse holds, per source system
    select distinct on (r._source_system, r.representation_id)
        r._source_system, r.representation_id, r.complainant_pseudonym, r.status, r.closed_date, r.received_date
    from raw_case_system.representations as r
    where not r._is_deleted
    order by r._source_system, r.representation_id, r._batch_id desc
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


def _counted_in_ledger(deleted: str, batch: str, ledger_column: str) -> sql.Composed:
    """``deleted`` (a DELETE ... RETURNING the batch id as ``batch``), each batch's rows added to its
    ledger row's ``ledger_column``: the ledger keeps reconciling with what the tables hold (the
    raw_loads_reconcile expectations). Returns the rows deleted."""
    return sql.SQL(
        "with gone as ({deleted}), per_batch as (select {batch} as batch_id, count(*) as n from gone group by 1), "
        "counted as (update audit.load_batches b set {column} = b.{column} + p.n "
        "from per_batch p where b.batch_id = p.batch_id returning 1) "
        "select coalesce(sum(n), 0)::bigint from per_batch"
    ).format(deleted=sql.SQL(deleted), batch=sql.Identifier(batch), column=sql.Identifier(ledger_column))


#: (what is purged, the statement): each reads expired_complainants and %(cutoff)s, and returns the
#: count of rows it purged.
PURGES = (
    (
        "restricted.complainants",
        _counted_in_ledger(
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
        _counted_in_ledger(
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
    years: int | None = None,
    today: date | None = None,
    dry_run: bool = False,
) -> Purge:
    """Purge personal data past retention (see the module's docstring), all or nothing, and record it.

    ``dry_run`` counts what would go, records that, and changes nothing else.
    """
    years = years if years is not None else retention_years()
    params = {"cutoff": cutoff_date(years, today)}
    with connect(target) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('complaints_warehouse.retention'))")
        conn.execute(EXPIRED_COMPLAINANTS, params)
        complainants = conn.execute("select count(*) from expired_complainants").fetchone()[0]
        counts: dict[str, int] = {}
        # A dry run makes the same changes inside a savepoint and rolls them back: its counts are exact.
        with conn.transaction(force_rollback=dry_run):
            for table, statement in PURGES:
                counts[table] = conn.execute(statement, params).fetchone()[0]
        purge_id = conn.execute(
            "insert into audit.retention_purges (purged_by, retention_years, cutoff, dry_run, complainants, "
            "rows_by_table) values (%s || ' (' || session_user || ')', %s, %s, %s, %s, %s) returning purge_id",
            (purged_by, years, params["cutoff"], dry_run, complainants, Jsonb(counts)),
        ).fetchone()[0]
    return Purge(purge_id, params["cutoff"], years, dry_run, complainants, counts)
