"""Subject access: everything the warehouse holds about one complainant, in one JSON file.

A data-protection officer answering a subject-access request names the complainant by the case system's
reference for them (``complainant_id``) or by their pseudonym. The export holds their identity (every
version in ``restricted.complainants``), every version of each of their cases and of the cases'
complaint points, stages, remedies, payments and Ombudsman cases as loaded, their rows in the marts,
refused rows that carry them (``restricted.quarantine``, ``audit.quarantine``), and columns the contract
does not know kept for them (``restricted.unknown_columns``). The export is recorded in
``audit.subject_access_exports`` under the pseudonym, never the identity.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from complaints_warehouse.outputs import OutputExists, write_atomic
from complaints_warehouse.warehouse.database import Connection, connect

PSEUDONYM = re.compile(r"^P[0-9a-f]{20}$")
#: Case-system tables that hang off a case (representation_id), exported in this order.
CASE_TABLES = ("complaint_points", "stages", "remedies", "payments", "ombudsman_cases")
#: Marts that carry the complainant's pseudonym.
MARTS = ("fct_representations",)
OVERWRITE_ADVICE = (
    "an export holds personal data, so it is written only to a new file; name one, or pass --force"
)


class SubjectNotFound(LookupError):
    """The warehouse holds nothing about the complainant named."""


@dataclass(frozen=True)
class SubjectAccessExport:
    path: Path
    pseudonym: str
    rows_by_section: dict[str, int]


def _rows(conn, query: sql.Composable | str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _relation_exists(conn, schema: str, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{name}",)).fetchone()[0]


def _pseudonym_of(conn, subject: str, pseudonym_key: str) -> str:
    """``subject`` itself when it is a pseudonym the warehouse knows, else the pseudonym of it as a
    complainant reference (the keyed hash the loader stores)."""
    if PSEUDONYM.match(subject):
        known = conn.execute(
            "select 1 from restricted.complainants where complainant_pseudonym = %(p)s union all "
            "select 1 from raw_case_system.representations where complainant_pseudonym = %(p)s limit 1",
            {"p": subject},
        ).fetchone()
        if known:
            return subject
    conn.execute("select set_config('warehouse.pseudonym_key', %s, true)", (pseudonym_key,))
    return conn.execute("select audit.pseudonym(%s)", (subject,)).fetchone()[0]


def export_subject(
    target: Connection,
    subject: str,
    out: Path,
    *,
    pseudonym_key: str,
    exported_by: str,
    force: bool = False,
) -> SubjectAccessExport:
    """Write everything held about ``subject`` (a complainant reference or pseudonym) to ``out`` (JSON)
    and record the export. Raises ``SubjectNotFound`` when the warehouse holds nothing about them.

    The file is personal data: it is made new, readable by its owner only (0600) from its first byte.
    An existing ``out`` is refused (``outputs.OutputExists``), checked before anything is read, unless
    ``force``: then it is replaced whole by a new 0600 file (never rewritten in place, so a copy
    readable by others never holds the export)."""
    subject = subject.strip()
    out = Path(out)
    if out.exists() and not force:
        raise OutputExists(out, OVERWRITE_ADVICE)
    with connect(target) as conn:
        pseudonym = _pseudonym_of(conn, subject, pseudonym_key)
        params = {"p": pseudonym}
        identity = _rows(
            conn,
            "select * from restricted.complainants where complainant_pseudonym = %(p)s order by _batch_id",
            params,
        )
        references = sorted({r["complainant_id"] for r in identity if r["complainant_id"]})
        if not PSEUDONYM.match(subject):
            references = sorted({*references, subject})
        params["refs"] = references
        cases = _rows(
            conn,
            "select * from raw_case_system.representations where complainant_pseudonym = %(p)s "
            "order by _source_system, representation_id, _batch_id",
            params,
        )
        params["cases"] = sorted({r["representation_id"] for r in cases})
        case_data = {"representations": cases}
        for table in CASE_TABLES:
            case_data[table] = _rows(
                conn,
                sql.SQL(
                    "select * from {} where (_source_system, representation_id) in (select _source_system, "
                    "representation_id from raw_case_system.representations where complainant_pseudonym = %(p)s) "
                    "order by _source_system, _batch_id"
                ).format(sql.Identifier("raw_case_system", table)),
                params,
            )
        marts = {
            mart: _rows(
                conn,
                sql.SQL("select * from {} where complainant_pseudonym = %(p)s").format(
                    sql.Identifier("marts", mart)
                ),
                params,
            )
            for mart in MARTS
            if _relation_exists(conn, "marts", mart)
        }
        quarantined = _rows(
            conn,
            "select 'restricted.quarantine' as held_in, * from restricted.quarantine "
            "where raw_row ->> 'complainant_id' = any(%(refs)s) "
            "union all select 'audit.quarantine', * from audit.quarantine "
            "where raw_row ->> 'complainant_id' = any(%(refs)s) or raw_row ->> 'complainant_pseudonym' = %(p)s "
            "or (source = 'case_system' and raw_row ->> 'representation_id' = any(%(cases)s)) "
            "order by 1, quarantine_id",
            params,
        )
        # Columns the contract does not know, kept for this person (unknown_columns: restricted).
        unknown_columns = _rows(
            conn,
            "select * from restricted.unknown_columns where complainant_pseudonym = %(p)s "
            "or (source_system, representation_id) in (select _source_system, representation_id "
            "from raw_case_system.representations where complainant_pseudonym = %(p)s) "
            "order by batch_id, file_row_number",
            params,
        )
        sections = {
            "identity": len(identity),
            **{table: len(rows) for table, rows in case_data.items()},
            **{f"marts.{mart}": len(rows) for mart, rows in marts.items()},
            "quarantined": len(quarantined),
            "unknown_columns": len(unknown_columns),
        }
        if not any(sections.values()):
            raise SubjectNotFound(f"The warehouse holds nothing about complainant {subject!r}.")
        document = {
            "subject": {"requested_as": subject, "pseudonym": pseudonym, "references": references},
            "exported_at": datetime.now(UTC).isoformat(),
            "warehouse": conn.info.dbname,
            "identity": identity,
            "cases": case_data,
            "marts": marts,
            "quarantined": quarantined,
            "unknown_columns": unknown_columns,
            "rows_by_section": sections,
        }
        try:
            write_atomic(out, json.dumps(document, indent=2, default=str), mode=0o600, exclusive=not force)
        except OutputExists:
            raise OutputExists(out, OVERWRITE_ADVICE) from None
        conn.execute(
            "insert into audit.subject_access_exports (exported_by, subject_pseudonym, out_file, rows_by_section) "
            "values (%s || ' (' || session_user || ')', %s, %s, %s)",
            (exported_by, pseudonym, str(out.resolve()), Jsonb(sections)),
        )
    return SubjectAccessExport(out, pseudonym, sections)
