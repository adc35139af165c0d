"""Personal data on real data from the simulated case system: retention purges, subject-access exports."""

from __future__ import annotations

import json
from datetime import date

import pytest
from psycopg.types.json import Jsonb

from complaints_warehouse import cli, pipeline, retention, subject_access

QUIET = {"echo": lambda line: None}
# The simulated council's cases run from April 2023 to March 2024: six years on from 1 January 2030,
# cases closed before 1 January 2024 are past retention and the rest are not.
TODAY, YEARS, CUTOFF = date(2030, 1, 1), 6, date(2024, 1, 1)


def quarantine(sql, table: str, raw_row: dict, quarantined_at: str) -> None:
    """A refused row as the loader leaves it (of the complainants contract, or an older release's row)."""
    sql(
        f"insert into {table} (batch_id, source, table_name, reasons, raw_row, quarantined_at) "
        "select max(batch_id), 'case_system', 'complainants', array['a test reason'], %s, %s "
        "from audit.load_batches",
        (Jsonb(raw_row), quarantined_at),
    )


def expected_expired(sql) -> set[str]:
    """Complainants with no open case whose last case closed before the cutoff (or, with no case, whose
    record was last updated before it), worked out here in Python from the raw rows."""
    cases: dict[str, list] = {}
    for pseudonym, status, closed, received in sql(
        "select complainant_pseudonym, status, closed_date, received_date from raw_case_system.representations"
    ):
        cases.setdefault(pseudonym, []).append((status, closed or received))
    expired = set()
    for pseudonym, updated in sql("select complainant_pseudonym, updated_at from restricted.complainants"):
        own = cases.get(pseudonym)
        if own is None:
            if updated.date() < CUTOFF:
                expired.add(pseudonym)
        elif all(s == "closed" for s, _ in own) and max(c for _, c in own) < CUTOFF:
            expired.add(pseudonym)
    return expired


@pytest.mark.slow
def test_retention_purges_old_personal_data_and_keeps_the_rest(
    simulated_case_system, settings, warehouse, sql
):
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    expired = expected_expired(sql)
    held = {p for (p,) in sql("select complainant_pseudonym from restricted.complainants")}
    assert expired and held - expired, "the simulated data should have old and recent complainants"
    old_id = sql(
        "select complainant_id from restricted.complainants where complainant_pseudonym = %s", (min(expired),)
    )[0][0]
    quarantine(sql, "restricted.quarantine", {"complainant_id": "OLD-1", "given_name": "Ada"}, "2023-06-01")
    quarantine(sql, "restricted.quarantine", {"complainant_id": "NEW-1", "given_name": "Bea"}, "2029-12-01")
    quarantine(sql, "restricted.quarantine", {"complainant_id": old_id, "given_name": "Cy"}, "2029-12-01")
    quarantine(sql, "audit.quarantine", {"complainant_id": "OLD-2", "representation_id": "R9"}, "2023-06-01")
    before = sql("select count(*) from restricted.complainants")

    dry = retention.purge_expired(warehouse, purged_by="test", years=YEARS, today=TODAY, dry_run=True)
    assert sql("select count(*) from restricted.complainants") == before
    assert sql("select count(*) from restricted.quarantine") == [(3,)]
    assert sql("select raw_row ? 'complainant_id' from audit.quarantine") == [(True,)]

    done = retention.purge_expired(warehouse, purged_by="test", years=YEARS, today=TODAY)
    assert dry.cutoff == done.cutoff == CUTOFF
    assert dry.complainants == done.complainants == len(expired)
    assert dry.rows_by_table == done.rows_by_table
    assert done.rows_by_table == {
        "restricted.complainants": len(expired),
        "restricted.complainants__current": len(expired),
        "restricted.quarantine": 2,
        "audit.quarantine": 1,
    }
    kept = {p for (p,) in sql("select complainant_pseudonym from restricted.complainants")}
    assert kept == held - expired
    assert {p for (p,) in sql("select complainant_pseudonym from restricted.complainants__current")} == kept
    assert sql("select raw_row ->> 'complainant_id' from restricted.quarantine") == [("NEW-1",)]
    assert sql("select raw_row from audit.quarantine") == [({"representation_id": "R9"},)]
    # Both purges are on record: who, when, the cutoff and the rows per table.
    assert sql(
        "select dry_run, cutoff, retention_years, complainants, rows_by_table = %s, purged_by like 'test (%%)' "
        "from audit.retention_purges order by purge_id",
        (Jsonb(done.rows_by_table),),
    ) == [(True, CUTOFF, YEARS, len(expired), True, True), (False, CUTOFF, YEARS, len(expired), True, True)]
    # A second purge finds nothing more to do.
    again = retention.purge_expired(warehouse, purged_by="test", years=YEARS, today=TODAY)
    assert again.complainants == 0 and set(again.rows_by_table.values()) == {0}

    # The cases stay, under their pseudonyms: the marts build as before, purged complainants included.
    pipeline.step_transform(settings, warehouse, **QUIET)
    cases = sql("select count(*) from raw_case_system.representations")[0][0]
    assert sql("select count(*) from marts.fct_representations") == [(cases,)]
    purged_with_cases = expired & {
        p for (p,) in sql("select complainant_pseudonym from marts.fct_representations")
    }
    assert purged_with_cases
    assert sql(
        "select count(*) from marts.fct_representations where complainant_pseudonym = any(%s)",
        (sorted(purged_with_cases),),
    ) == sql(
        "select count(*) from raw_case_system.representations where complainant_pseudonym = any(%s)",
        (sorted(purged_with_cases),),
    )


def test_quarantined_case_rows_carry_the_pseudonym_not_the_complainant_reference(
    warehouse, sql, tmp_path, settings
):
    from complaints_warehouse.warehouse import database
    from ingestion.case_system.contract import REPRESENTATIONS
    from ingestion.copy_loader import load_file

    header = (
        "representation_id,representation_type,procedure,received_date,service_area_code,directorate,"
        "status,complainant_id,updated_at"
    )
    good = "R1,complaint,corporate,2024-01-10,ENV,Environment,open,C-77,2024-01-10T10:00:00Z"
    path = tmp_path / "representations.csv"
    path.write_text(f"{header}\n{good}\n{good.replace('R1', 'R2').replace('2024-01-10,', 'soon,', 1)}\n")
    with database.connect(warehouse, autocommit=True) as conn:
        result = load_file(conn, REPRESENTATIONS, path, pseudonym_key=settings.pseudonym_key())
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    (raw_row,) = sql("select raw_row from audit.quarantine")[0]
    (stored,) = sql("select complainant_pseudonym from raw_case_system.representations")[0]
    assert "complainant_id" not in raw_row and "C-77" not in json.dumps(raw_row)
    assert raw_row["complainant_pseudonym"] == stored and raw_row["received_date"] == "soon"


def test_retention_years_come_from_the_settings(monkeypatch):
    from complaints_warehouse.settings import SettingsError, load_settings

    monkeypatch.delenv("WAREHOUSE_RETENTION_YEARS", raising=False)
    assert load_settings().retention_years() == 6
    monkeypatch.setenv("WAREHOUSE_RETENTION_YEARS", "7")
    assert load_settings().retention_years() == 7
    monkeypatch.setenv("WAREHOUSE_RETENTION_YEARS", "six")
    mistyped = load_settings()  # read with the others; refused only where it is used
    with pytest.raises(SettingsError, match="WAREHOUSE_RETENTION_YEARS='six' must be a whole number"):
        mistyped.retention_years()
    assert retention.cutoff_date(6, date(2024, 2, 29)) == date(2018, 2, 28)


def test_subject_access_exports_everything_held_about_one_complainant(
    simulated_case_system, settings, warehouse, sql, tmp_path
):
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    # A complainant with more than one case, and stages on them.
    pseudonym, reference, cases = sql(
        "select c.complainant_pseudonym, c.complainant_id, count(distinct r.representation_id) "
        "from restricted.complainants c join raw_case_system.representations r using (complainant_pseudonym) "
        "group by 1, 2 order by 3 desc, 1 limit 1"
    )[0]
    assert cases >= 2
    stages = sql(
        "select count(*) from raw_case_system.stages where representation_id in "
        "(select representation_id from raw_case_system.representations where complainant_pseudonym = %s)",
        (pseudonym,),
    )[0][0]
    quarantine(
        sql, "restricted.quarantine", {"complainant_id": reference, "email": "x@example.org"}, "2024-01-05"
    )
    given_name = sql(
        "select given_name from restricted.complainants where complainant_pseudonym = %s", (pseudonym,)
    )

    out = tmp_path / "sar" / "export.json"
    assert cli.main(["subject-access", reference, "--out", str(out)]) == cli.EXIT_OK
    export = json.loads(out.read_text())
    assert export["subject"]["pseudonym"] == pseudonym and export["subject"]["references"] == [reference]
    assert [r["given_name"] for r in export["identity"]] == [g for (g,) in given_name]
    assert len(export["cases"]["representations"]) == cases
    assert {r["complainant_pseudonym"] for r in export["cases"]["representations"]} == {pseudonym}
    assert len(export["cases"]["stages"]) == stages
    assert [q["raw_row"]["email"] for q in export["quarantined"]] == ["x@example.org"]
    assert export["rows_by_section"]["representations"] == cases
    assert out.stat().st_mode & 0o077 == 0  # personal data: the owner's eyes only

    # By pseudonym, the same; every export recorded under the pseudonym, never the person's identity.
    by_pseudonym = subject_access.export_subject(
        warehouse,
        pseudonym,
        tmp_path / "again.json",
        pseudonym_key=settings.pseudonym_key(),
        exported_by="test",
    )
    assert by_pseudonym.rows_by_section == export["rows_by_section"]
    recorded = sql("select subject_pseudonym, rows_by_section, exported_by from audit.subject_access_exports")
    assert [(p, s) for p, s, _ in recorded] == [(pseudonym, export["rows_by_section"])] * 2
    assert reference not in json.dumps(recorded, default=str)

    with pytest.raises(subject_access.SubjectNotFound):
        subject_access.export_subject(
            warehouse,
            "NO-SUCH-PERSON",
            tmp_path / "none.json",
            pseudonym_key=settings.pseudonym_key(),
            exported_by="t",
        )
    assert not (tmp_path / "none.json").exists()


def test_the_retention_command_records_a_dry_run_and_changes_nothing(warehouse, sql, capsys):
    assert cli.main(["retention", "purge", "--dry-run"]) == cli.EXIT_OK
    assert "would purge 0 complainant(s)" in capsys.readouterr().out
    assert sql("select dry_run, retention_years, complainants from audit.retention_purges") == [(True, 6, 0)]
