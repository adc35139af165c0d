"""Publication integrity: publish exactly what was validated, and notice any later change to what was published.

* **Validated snapshot.** A validation run records the checksum of every month's BMMR figures as the
  checkpoint begins (``audit.validated_figures``) and checks them again as it ends (figures that changed
  meanwhile fail the validation). Publication recomputes the month's checksum from the marts and refuses
  when it differs: a build between validation and publication can never get its marts published
  unvalidated. (The command line and ``run`` also hold ``locks.marts_lock`` across validate -> publish,
  so a build waits instead; Airflow's tasks are separate processes and rely on the checksum.)
* **Tamper evidence.** Every publication's figures are checked against the checksum recorded with it,
  and publications form a hash chain (``published.publication_chain``: each hash covers the
  publication's record, its figures' checksum, its restatements and honoured known issues, and the
  previous publication's hash). ``verify`` names
  every edited, removed or unchained publication by month and version; ``publish`` and the BMMR pack
  run it first and refuse (``TamperingDetected``; the command line exits 5).

Who can defeat it: an owner who rewrites the figures, the checksums and every later chain entry. The
BMMR pack prints the chain's head hash so that a signed-off pack anchors the chain outside the database
(``complaints-warehouse verify --head HASH`` checks a hash from an earlier pack is still in the chain).
"""

from __future__ import annotations

from dataclasses import dataclass

from complaints_warehouse.errors import Tampered

#: The checksum of a set of BMMR cells (directorate, procedure_code, period, measure, value); trim_scale:
#: 50 and 50.0 are the same figure and must give the same checksum.
FIGURES_CHECKSUM = (
    "md5(string_agg(concat_ws('|', directorate, procedure_code, period, measure, "
    "coalesce(trim_scale(value)::text, 'null')), e'\\n' order by directorate, procedure_code, period, measure))"
)
#: Recorded instead of a checksum for a month whose figures changed while the checkpoint ran.
CHANGED_DURING_VALIDATION = "changed during validation"


#: Periods a publication freezes; same_month_last_year repeats an earlier month's figures.
PUBLISHED_PERIODS = ("month", "financial_year_to_date")


class TamperingDetected(Tampered, RuntimeError):
    """Published figures or publications were changed or removed outside ``publish`` (CLI exit 5)."""

    def __init__(self, problems: list[Problem], doing: str):
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{doing} refused: the published record has been tampered with ({len(problems)} problem(s)):\n"
            f"{listed}\nNothing was changed. Investigate (audit who had the owner's rights), restore the "
            "published schema from a backup, then run `complaints-warehouse verify` until it passes."
        )


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found: the publication (month, version) it concerns and what is wrong."""

    month: str | None
    version: int | None
    what: str

    def __str__(self) -> str:
        where = f"{self.month} version {self.version}" if self.month else "published record"
        return f"{where}: {self.what}"


def _bmmr_cells(periods: list[str]) -> tuple[str, dict]:
    from complaints_warehouse.bmmr_measures import cells_sql

    query = (
        "select b.report_month, b.directorate, b.procedure_code, b.period, kv.key as measure, "  # noqa: S608
        f"kv.value::numeric as value from {cells_sql('marts.bmmr_monthly')} where b.period = any(%(periods)s)"
    )
    return query, {"periods": periods}


def marts_checksums(conn) -> dict:
    """{month: (cells, checksum)} of every month in ``marts.bmmr_monthly`` (the published periods)."""
    if conn.execute("select to_regclass('marts.bmmr_monthly') is null").fetchone()[0]:
        return {}
    cells, params = _bmmr_cells(list(PUBLISHED_PERIODS))
    rows = conn.execute(
        f"with cells as ({cells}) select report_month, count(*), {FIGURES_CHECKSUM} from cells group by 1",  # noqa: S608
        params,
    ).fetchall()
    return {month: (count, checksum) for month, count, checksum in rows}


def record_validated_figures(conn, run_id: str) -> dict:
    """Record the checksum of each month's figures as validation run ``run_id`` sees them; returns them."""
    found = marts_checksums(conn)
    with conn.cursor() as cur:
        cur.executemany(
            "insert into audit.validated_figures (run_id, report_month, checksum, figures_count) "
            "values (%s, %s, %s, %s) on conflict (run_id, report_month) do update "
            "set checksum = excluded.checksum, figures_count = excluded.figures_count, "
            "recorded_at = clock_timestamp()",
            [(run_id, month, checksum, count) for month, (count, checksum) in found.items()],
        )
    return found


def spoil_changed(conn, run_id: str, before: dict, after: dict) -> list:
    """Mark the months whose figures differ between ``before`` and ``after`` (a build ran while the
    checkpoint did) as not validated by ``run_id``: publication refuses them. Returns those months."""
    changed = sorted(m for m in set(before) | set(after) if before.get(m) != after.get(m))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into audit.validated_figures (run_id, report_month, checksum, figures_count) "
            "values (%s, %s, %s, 0) on conflict (run_id, report_month) do update set checksum = excluded.checksum",
            [(run_id, m, CHANGED_DURING_VALIDATION) for m in changed],
        )
    return changed


def validated_checksum_refusal(conn, run_id: str, month, checksum: str) -> str | None:
    """Why ``month``'s figures (now ``checksum``) are not those validation run ``run_id`` validated, or None."""
    row = conn.execute(
        "select checksum from audit.validated_figures where run_id = %s and report_month = %s",
        (run_id, month),
    ).fetchone()
    label = f"{month:%Y-%m}"
    if row is None:
        return (
            f"validation run {run_id} recorded no checksum of {label}'s figures, so nothing shows they are "
            "the figures it validated: nothing is published. Validate again and publish from that run "
            "(`complaints-warehouse publish` does both)."
        )
    if row[0] == CHANGED_DURING_VALIDATION:
        return (
            f"{label}'s figures changed while validation run {run_id} was validating them (a build ran "
            "meanwhile): nothing is published. Validate again, then publish."
        )
    if row[0] != checksum:
        return (
            f"{label}'s figures in marts.bmmr_monthly changed after validation run {run_id} validated them "
            f"(checksum then {row[0]}, now {checksum}: a build ran in between): nothing is published. "
            "Validate the marts as they are now, then publish (`complaints-warehouse publish` does both)."
        )
    return None


def verify_publications(conn) -> list[Problem]:
    """Every problem with the published record: figures that no longer match their checksum, publications
    edited, removed, or not in the chain, and a broken chain. Empty: the record is intact."""
    problems: list[Problem] = []

    def at(month, version, what: str) -> None:
        problems.append(Problem(f"{month:%Y-%m}" if month else None, version, what))

    publications = conn.execute(
        "select p.report_month, p.version, p.checksum, p.figures_count, "
        "f.cells, f.checksum, "
        "published.publication_hash(c.previous_hash, p.report_month, p.version, p.checksum, p.figures_count, "
        "p.validation_run_id, p.published_by, p.published_at, "
        "published.attachments_digest(p.report_month, p.version)), c.chain_hash, c.chain_seq "
        "from published.bmmr_publications p "
        "left join (select report_month, version, count(*) as cells, "
        "{checksum} as checksum from published.bmmr_figures group by 1, 2) f using (report_month, version) "
        "left join published.publication_chain c using (report_month, version) "
        "order by p.report_month, p.version".replace("{checksum}", FIGURES_CHECKSUM)
    ).fetchall()
    for month, version, recorded, count, cells, checksum, rehashed, chained, seq in publications:
        if not cells:
            at(month, version, "its figures were removed (the publication is recorded, its figures are not)")
        elif checksum != recorded or cells != count:
            at(
                month,
                version,
                f"its figures were changed after publication: they no longer match the checksum recorded "
                f"with them (recorded {recorded}, {count} figures; now {checksum}, {cells} figures)",
            )
        if seq is None:
            at(
                month,
                version,
                "it is not in the publication chain (inserted outside `publish`, or its chain entry removed)",
            )
        elif rehashed != chained:
            at(
                month,
                version,
                "its publication record (checksum, figures count, validation run, publisher or time), its "
                "restatements or the known issues it was published despite were changed after it was "
                f"chained (chain position {seq})",
            )

    for month, version in conn.execute(
        "select distinct report_month, version from published.bmmr_figures f where not exists ("
        "select 1 from published.bmmr_publications p "
        "where p.report_month = f.report_month and p.version = f.version) order by 1, 2"
    ).fetchall():
        at(month, version, "figures are stored for it, but its publication record was removed")

    previous_hash, previous_seq = "genesis", 0
    for seq, month, version, prev_month, prev_version, prev_hash, chain_hash, published in conn.execute(
        "select c.chain_seq, c.report_month, c.version, c.previous_month, c.previous_version, c.previous_hash, "
        "c.chain_hash, p.version is not null from published.publication_chain c "
        "left join published.bmmr_publications p using (report_month, version) order by c.chain_seq"
    ).fetchall():
        if not published:
            at(month, version, f"it was removed (chain position {seq} records it)")
        if seq != previous_seq + 1 or prev_hash != previous_hash:
            removed = (
                f"{prev_month:%Y-%m} version {prev_version}"
                if prev_month
                else "the publication chained before it"
            )
            at(
                month,
                version,
                f"the chain is broken before it (position {seq}): {removed}, chained just before it, was "
                "removed or its chain entry changed",
            )
        previous_hash, previous_seq = chain_hash, seq

    for month, missing in conn.execute(
        "select report_month, array(select v from generate_series(1, max(version)) v "
        "except select version from published.bmmr_publications q where q.report_month = p.report_month "
        "order by 1) from published.bmmr_publications p group by report_month order by 1"
    ).fetchall():
        for version in missing:
            at(month, version, "it is missing: later versions of the month exist")
    return _unique(problems)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, kept = set(), []
    for p in problems:
        if p not in seen:
            seen.add(p)
            kept.append(p)
    return kept


def chain_head(conn) -> tuple[int, str] | None:
    """(position, hash) of the latest publication in the chain, or None before the first."""
    return conn.execute(
        "select chain_seq, chain_hash from published.publication_chain order by chain_seq desc limit 1"
    ).fetchone()


def head_known(conn, head: str) -> bool:
    """Whether ``head`` (a hash printed on an earlier pack or by ``verify``) is still in the chain."""
    return (
        conn.execute("select 1 from published.publication_chain where chain_hash = %s", (head,)).fetchone()
        is not None
    )


def refuse_if_tampered(conn, doing: str) -> None:
    """Raise ``TamperingDetected`` (naming each problem) if the published record is not intact."""
    problems = verify_publications(conn)
    if problems:
        raise TamperingDetected(problems, doing)
