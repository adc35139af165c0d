"""Pulling from a council case system: incremental, lossless, idempotent, and never double counting."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest
from conftest import use_sources

from case_system_simulator import truth
from complaints_warehouse import load, pipeline, transform

QUIET = {"echo": lambda line: None}
TABLES = {
    "representations": ("cases", "raw_case_system"),
    "stages": ("case_stages", "raw_case_system"),
    "complaint_points": ("case_issues", "raw_case_system"),
    "remedies": ("remedies", "raw_case_system"),
    "payments": ("payments", "raw_case_system"),
    "ombudsman_cases": ("lgsco_cases", "raw_case_system"),
    "service_areas": ("org_units", "raw_case_system"),
    "complainants": ("contacts", "restricted"),
}


def load_night(settings, warehouse) -> dict[str, dict]:
    batches = pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    return {b["table"]: b for b in batches}


def source_count(sim, query: str, *params):
    with psycopg.connect(sim.conninfo) as conn:
        return conn.execute(query, params).fetchone()[0]


def test_first_night_loads_every_table_of_the_source(simulated_case_system, settings, warehouse, sql):
    night = load_night(settings, warehouse)
    for table, (source_table, schema) in TABLES.items():
        expected = source_count(simulated_case_system, f"select count(*) from rms.{source_table}")
        assert night[table]["rows_in"] == night[table]["rows_loaded"] == expected, table
        assert sql(f"select count(*) from {schema}.{table}") == [(expected,)], table
    assert sql("select count(*) from audit.quarantine") == [(0,)]
    marks = dict(
        sql("select table_name, high_water_mark from audit.source_watermarks where source_system = 'rms'")
    )
    assert set(marks) == set(TABLES)


def test_each_night_picks_up_exactly_the_changes(simulated_case_system, settings, warehouse, sql):
    load_night(settings, warehouse)
    sim = simulated_case_system
    for _ in range(3):
        report = sim.advance(1)[0]
        day = date.fromisoformat(report["day"])
        with psycopg.connect(sim.conninfo) as conn:
            deleted_cases = conn.execute(
                "select count(*) from sim.cases where deleted_on = %s", (day,)
            ).fetchone()[0]
        night = load_night(settings, warehouse)
        for table, (source_table, _) in TABLES.items():
            changed = source_count(
                sim, f"select count(*) from rms.{source_table} where modified_at::date = %s", day
            )
            batch = night[table]
            appended = batch["rows_loaded"] - batch["rows_unchanged"]
            assert appended == changed, (report["day"], table, batch)
            assert batch["rows_in"] == batch["rows_loaded"] + batch["rows_quarantined"]
        assert night["representations"]["rows_deleted"] == deleted_cases
    # After three nights the warehouse holds exactly what the source holds, case by case.
    source_cases = {
        (f"rms:{ref}", "closed" if status == "C" else "open", closed)
        for ref, status, closed in psycopg.connect(sim.conninfo).execute(
            "select case_ref, case_status, date_closed from rms.cases"
        )
    }
    transform.build(settings, warehouse, **QUIET)
    staged = set(
        sql("select representation_key, status, closed_date from staging.stg_case_system__representations")
    )
    assert staged == source_cases


def test_rerunning_a_night_changes_nothing(simulated_case_system, settings, warehouse, sql):
    load_night(settings, warehouse)
    raw_before = sql("select count(*) from raw_case_system.representations")
    again = load_night(settings, warehouse)
    for table, batch in again.items():
        assert batch["rows_loaded"] == batch["rows_unchanged"], table  # the overlap window re-read them
        assert batch["rows_deleted"] == 0
    assert sql("select count(*) from raw_case_system.representations") == raw_before


def test_warehouse_matches_the_simulators_truth(simulated_case_system, settings, warehouse, sql):
    simulated_case_system.advance(5)
    load_night(settings, warehouse)
    transform.build(settings, warehouse, **QUIET)
    with psycopg.connect(simulated_case_system.conninfo) as conn:
        received = truth.monthly_received(conn)
        closed = truth.monthly_closed(conn)
        remedies = truth.remedies(conn)
        payments = truth.payments(conn)
        cases = truth.case_count(conn)
    fact_received = {
        (m, p, t): n
        for m, p, t, n in sql(
            "select to_char(received_date, 'YYYY-MM'), procedure_code, representation_type, count(*) "
            "from marts.fct_representations group by 1, 2, 3"
        )
    }
    assert fact_received == received
    assert (
        dict(
            sql(
                "select to_char(closed_date, 'YYYY-MM'), count(*) from marts.fct_representations "
                "where status = 'closed' group by 1"
            )
        )
        == closed
    )
    assert sql("select count(*) from marts.fct_representations") == [(cases,)]
    assert sql("select count(*), coalesce(sum(amount_gbp), 0) from staging.stg_case_system__remedies") == [
        remedies
    ]
    assert sql("select count(*), coalesce(sum(amount_gbp), 0) from staging.stg_case_system__payments") == [
        payments
    ]


def test_personal_data_stays_in_the_restricted_schema(simulated_case_system, settings, warehouse, sql):
    load_night(settings, warehouse)
    transform.build(settings, warehouse, **QUIET)
    # Identities only in restricted; elsewhere, nothing that names, reaches or dates a person.
    personal = {
        "given_name",
        "family_name",
        "email",
        "phone",
        "address",
        "postcode",
        "date_of_birth",
        "complainant_id",
    }
    exposed = sql(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema not in ('restricted', 'pg_catalog', 'information_schema') and column_name = any(%s)",
        (list(personal),),
    )
    assert exposed == []
    # One pseudonym per person, the same in the restricted table and on their cases.
    linked = sql(
        "select count(*) from marts.fct_representations f join restricted.complainants c "
        "on c.complainant_pseudonym = f.complainant_pseudonym"
    )[0][0]
    with_complainant = sql(
        "select count(*) from marts.fct_representations where complainant_pseudonym is not null"
    )[0][0]
    assert linked == with_complainant > 0
    pseudonyms = sql(
        "select complainant_id, complainant_pseudonym from restricted.complainants order by 1 limit 5"
    )
    assert all(p.startswith("P") and len(p) == 21 and cid not in p for cid, p in pseudonyms)


def test_pseudonyms_are_stable_from_night_to_night(simulated_case_system, settings, warehouse, sql):
    load_night(settings, warehouse)
    before = dict(sql("select complainant_id, complainant_pseudonym from restricted.complainants"))
    simulated_case_system.advance(2)
    load_night(settings, warehouse)
    after = dict(sql("select complainant_id, complainant_pseudonym from restricted.complainants"))
    assert all(after[cid] == pseudonym for cid, pseudonym in before.items())


def test_backfill_loads_exactly_its_window_and_leaves_the_high_water_mark(
    simulated_case_system, settings, warehouse, sql
):
    load_night(settings, warehouse)
    marks = sql("select table_name, high_water_mark from audit.source_watermarks order by 1")
    config = load.load_source_configs(settings)[0]
    window = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 31, 23, 59, tzinfo=UTC))
    batches = pipeline.step_load_source_system(settings, warehouse, config, window=window, **QUIET)
    reps = next(b for b in batches if b["table"] == "representations")
    in_window = source_count(
        simulated_case_system,
        "select count(*) from rms.cases where modified_at > %s and modified_at <= %s",
        *window,
    )
    assert reps["rows_in"] == in_window > 0
    assert reps["rows_loaded"] == reps["rows_unchanged"]  # nothing changed since the night's load
    assert sql(
        "select window_start, window_end from audit.load_batches where batch_id = %s", (reps["batch_id"],)
    ) == [window]
    assert sql("select table_name, high_water_mark from audit.source_watermarks order by 1") == marks


def test_tables_load_side_by_side_and_a_failing_one_stops_the_rest_whole(
    simulated_case_system, settings, warehouse, sql, monkeypatch
):
    """Tables load two at a time on their own connections; when one fails, no later table starts,
    the ones running finish whole, the failure is raised naming its table, and the next night loads
    the rest."""
    monkeypatch.setenv("WAREHOUSE_LOAD_THREADS", "2")
    with psycopg.connect(simulated_case_system.conninfo, autocommit=True) as conn:
        conn.execute("alter table rms.case_issues rename to case_issues_away")
    with pytest.raises(load.RefusedFile, match="rms.case_issues.*does not exist"):
        load_night(settings, warehouse)
    statuses = dict(sql("select table_name, status from audit.load_batches where source_system = 'rms'"))
    assert statuses["complaint_points"] == "refused"
    assert set(statuses.values()) <= {"loaded", "refused"}  # none left running
    # Contract order: service areas, complainants, representations, complaint points, stages, ...
    # With two at a time, at most one table after the failing one can have started.
    assert not {"remedies", "payments", "ombudsman_cases"} & set(statuses)
    for table in [t for t, status in statuses.items() if status == "loaded"]:
        source_table, schema = TABLES[table]
        expected = source_count(simulated_case_system, f"select count(*) from rms.{source_table}")
        assert sql(f"select count(*) from {schema}.{table}") == [(expected,)], table

    with psycopg.connect(simulated_case_system.conninfo, autocommit=True) as conn:
        conn.execute("alter table rms.case_issues_away rename to case_issues")
    night = load_night(settings, warehouse)
    assert set(night) == set(TABLES)
    for table, (source_table, schema) in TABLES.items():
        expected = source_count(simulated_case_system, f"select count(*) from rms.{source_table}")
        assert sql(f"select count(*) from {schema}.{table}") == [(expected,)], table
    assert sql("select count(*) from audit.load_batches where status = 'running'") == [(0,)]
    batches = [night[t]["batch_id"] for t in TABLES]
    overlapping = sql(
        "select count(*) from audit.load_batches a join audit.load_batches b on a.batch_id < b.batch_id "
        "and a.started_at < b.finished_at and b.started_at < a.finished_at "
        "where a.batch_id = any(%s) and b.batch_id = any(%s)",
        (batches, batches),
    )
    assert overlapping[0][0] > 0  # side by side, not one after another


@pytest.fixture
def two_systems(settings, tmp_path, monkeypatch):
    """A council that moved from an old system (cfs) to a new one (rms2) mid-year: both export files."""
    old, new = tmp_path / "cfs", tmp_path / "rms2"
    old.mkdir()
    new.mkdir()
    header = "representation_id,legacy_representation_id,representation_type,procedure,received_date,service_area_code,directorate,status,closed_date,updated_at"
    (old / "representations.csv").write_text(
        header
        + "\n"
        + "\n".join(
            f"L{i},,complaint,corporate,2023-0{i}-02,ENV-WST,Environment,closed,2023-0{i}-20,2023-09-30T00:00:00Z"
            for i in range(1, 6)
        )
        + "\n"
    )
    (new / "representations.csv").write_text(
        header + "\n"
        "M1,L1,complaint,corporate,2023-01-02,ENV-WST,Environment,closed,2023-01-20,2023-10-01T00:00:00Z\n"
        "M2,L2,complaint,corporate,2023-02-02,ENV-WST,Environment,closed,2023-02-20,2023-10-01T00:00:00Z\n"
        "N1,,complaint,corporate,2023-10-05,ENV-HWY,Environment,open,,2023-10-05T00:00:00Z\n"
    )
    configs = []
    for folder, name, extra in ((old, "cfs", ""), (new, "rms2", "replaces: cfs\n")):
        config = tmp_path / f"{name}.yml"
        config.write_text(
            f"source_system: {name}\ncontract: case_system\nadapter: files\nlanding: {folder}\n{extra}"
            "tables:\n  representations: {from: 'representations*.csv'}\n"
        )
        configs.append(str(config))
    use_sources(settings, monkeypatch, *configs)
    return old, new


def test_two_systems_for_one_council_count_each_case_once(two_systems, settings, warehouse, sql):
    load_night(settings, warehouse)
    transform.build(settings, warehouse, **QUIET)
    assert sql("select count(*) from staging.stg_case_system__representations") == [(8,)]
    assert sorted(r[0] for r in sql("select representation_key from marts.fct_representations")) == [
        "cfs:L3",
        "cfs:L4",
        "cfs:L5",
        "rms2:M1",
        "rms2:M2",
        "rms2:N1",
    ]


def test_landing_folder_files_are_archived_and_never_processed_twice(two_systems, settings, warehouse, sql):
    old, new = two_systems
    first = load_night(settings, warehouse)
    assert first["representations"]["rows_loaded"] == 3  # the last source's batch
    assert not list(old.glob("*.csv")) and not list(new.glob("*.csv"))
    archived = list((old / "archive").rglob("representations.csv"))
    assert len(archived) == 1
    assert load_night(settings, warehouse) == {}  # nothing waiting
    # The same content dropped again is recognised and skipped.
    archived[0].rename(old / "representations.csv")
    again = pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    assert [b["status"] for b in again] == ["skipped"]
    # A file that is not the contract is refused, moved aside with the reason, and the run fails.
    (new / "representations_bad.csv").write_text("representation_id\nX1\n")
    with pytest.raises(Exception, match="missing required column"):
        load_night(settings, warehouse)
    note = next((new / "refused").rglob("*.refused.txt"))
    assert "missing required column(s)" in note.read_text()
    assert sql("select count(*) from audit.load_batches where status = 'refused'") == [(1,)]


def test_an_xlsx_export_in_the_landing_folder_loads_like_a_csv(
    tmp_path, monkeypatch, settings, warehouse, sql
):
    from openpyxl import Workbook

    landing = tmp_path / "landing"
    landing.mkdir()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Cases"
    sheet.append(
        ["Case Ref", "Type", "Procedure", "Date Received", "Team", "Directorate", "Status", "Last Changed"]
    )
    sheet.append(
        [
            "X1",
            "Complaint",
            "corporate",
            date(2024, 5, 2),
            "ENV-WST",
            "Environment",
            "open",
            datetime(2024, 5, 2, 9),
        ]
    )
    sheet.append(
        [
            "X2",
            "Compliment",
            "corporate",
            date(2024, 5, 3),
            "ENV-WST",
            "Environment",
            "closed",
            datetime(2024, 5, 3, 9),
        ]
    )
    workbook.save(landing / "cases_2024-05-03.xlsx")
    config = tmp_path / "xlsx.yml"
    config.write_text(
        f"source_system: exports\ncontract: case_system\nadapter: files\nlanding: {landing}\n"
        "tables:\n  representations:\n    from: 'cases_*.xlsx'\n"
        "    columns: {representation_id: case_ref, representation_type: type, received_date: date_received,\n"
        "              service_area_code: team, status: status, updated_at: last_changed}\n"
        "    codes: {representation_type: {Complaint: complaint, Compliment: compliment}}\n"
    )
    use_sources(settings, monkeypatch, config)
    night = load_night(settings, warehouse)
    assert (night["representations"]["rows_loaded"], night["representations"]["rows_quarantined"]) == (2, 0)
    assert night["representations"]["file"].endswith("cases_2024-05-03.xlsx")
    assert sql(
        "select representation_id, representation_type, received_date from raw_case_system.representations "
        "order by 1"
    ) == [("X1", "complaint", date(2024, 5, 2)), ("X2", "compliment", date(2024, 5, 3))]
    assert list((landing / "archive").rglob("cases_2024-05-03.xlsx"))


def test_a_version_derived_from_the_cases_moves_and_the_cases_built_before_follow(
    settings, tmp_path, monkeypatch, warehouse, sql
):
    """A source that sends no service area list: a code's one version runs from its first case. A case
    received earlier moves the version's start, so its key changes: the next night's facts recompute the
    cases built before that name the old key, not only the case that arrived (the facts look for a gone
    version whenever dim_service_area's keys changed since their last build)."""
    folder = tmp_path / "solo"
    folder.mkdir()
    header = "representation_id,representation_type,procedure,received_date,service_area_code,directorate,status,closed_date,updated_at"
    (folder / "representations.csv").write_text(
        header + "\nA1,complaint,corporate,2023-05-02,PARKS,Environment,open,,2023-05-02T00:00:00Z\n"
    )
    config = tmp_path / "solo.yml"
    config.write_text(
        f"source_system: solo\ncontract: case_system\nadapter: files\nlanding: {folder}\n"
        "tables:\n  representations: {from: 'representations*.csv'}\n"
    )
    use_sources(settings, monkeypatch, str(config))

    def keys() -> list[tuple]:
        return sql("select representation_key, service_area_key from marts.fct_representations order by 1")

    load_night(settings, warehouse)
    transform.build(settings, warehouse, test_recomputed_rows_only=True, **QUIET)
    assert keys() == [("solo:A1", "solo:PARKS:2023-05-02")]

    (folder / "representations_2.csv").write_text(
        header + "\nA2,complaint,corporate,2023-03-01,PARKS,Environment,open,,2023-06-01T00:00:00Z\n"
    )
    load_night(settings, warehouse)
    transform.build(settings, warehouse, test_recomputed_rows_only=True, **QUIET)
    assert sql("select service_area_key from marts.dim_service_area") == [("solo:PARKS:2023-03-01",)]
    assert keys() == [("solo:A1", "solo:PARKS:2023-03-01"), ("solo:A2", "solo:PARKS:2023-03-01")]

    def last_build() -> list[tuple]:
        return sql(
            "select rebuilt_all, changed_cases, service_areas_md5 from audit.incremental_watermarks "
            "where model = 'marts.fct_representations' order by started_at desc limit 1"
        )

    [(rebuilt_all, changed_cases, keys_md5)] = last_build()
    assert (rebuilt_all, changed_cases) == (False, 2) and keys_md5

    # A later case leaves the version where it was: the keys' md5 is the same, and only the new case is
    # recomputed.
    (folder / "representations_3.csv").write_text(
        header + "\nA3,complaint,corporate,2023-08-01,PARKS,Environment,open,,2023-08-01T00:00:00Z\n"
    )
    load_night(settings, warehouse)
    transform.build(settings, warehouse, test_recomputed_rows_only=True, **QUIET)
    assert last_build() == [(False, 1, keys_md5)]
    assert [key for _, key in keys()] == ["solo:PARKS:2023-03-01"] * 3
