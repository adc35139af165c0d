"""Versions across nights: which version is current (the source's own time, then the batch), rows stamped
in the future, a file whose columns are merely reordered, stage order against the stages already held,
and statistics for what each load changed (issue 15: A3, A4, B3 and two operations)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from complaints_warehouse import load, pipeline, transform
from complaints_warehouse.warehouse import database
from ingestion.case_system.contract import REPRESENTATIONS, STAGES_TABLE
from ingestion.copy_loader import file_extract, load_extract, load_file
from ingestion.source_config import load_source_config

HEADER = (
    "representation_id,representation_type,procedure,received_date,channel,service_area_code,"
    "service_area_name,directorate,risk_level,joint_with_nhs,status,closed_date,updated_at"
)
SYSTEM = "nightly"


def quiet(line: str) -> None:
    pass


def case(key: str, updated_at: str, status: str = "closed") -> str:
    closed = "2024-01-09" if status == "closed" else ""
    return (
        f"{key},complaint,corporate,2024-01-02,web,ENV-WST,Waste,Environment,,false,{status},{closed},"
        f"{updated_at}"
    )


def write(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex[:6]}-{name}"
    path.write_text("\n".join(lines) + "\n")
    return path


def query(target, text: str, params=None) -> list[tuple]:
    with database.connect(target) as conn:
        return conn.execute(text, params).fetchall()


def load_night(target, contract, path: Path, present: list[str] | None = None):
    """One night's extract of ``contract`` from source system SYSTEM; ``present``: the keys the source
    holds now (keys the warehouse has and the source no longer does are recorded as deleted)."""
    extract = file_extract(path, contract)
    if present is not None:
        keys = ("representation_id\n" + "".join(f"{k}\n" for k in present)).encode()
        extract.present_keys = lambda: iter([keys])
    with database.connect(target, autocommit=True) as conn:
        return load_extract(conn, contract, extract, source_system=SYSTEM)


# --- A3: a late, older export does not overwrite newer data --------------------------------------------


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Four nights of representations, then the staging view built by dbt (of just that model).

    R1 closed on 10 January, then a late export of 5 January (still open) arrives. R2 and R3 are
    deleted by the source; then R2 re-appears in an export older than its deletion, R3 with a newer
    updated_at."""
    from complaints_warehouse.settings import load_settings

    folder = tmp_path_factory.mktemp("nights")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_versions_{uuid.uuid4().hex[:8]}")
        settings = load_settings()
        target = pipeline.prepare(settings)
        jan10 = "2024-01-10T10:00:00Z"
        night_1 = [case(k, jan10) for k in ("R1", "R2", "R3")]
        batches = [
            load_night(target, REPRESENTATIONS, write(folder, "n1.csv", [HEADER, *night_1])),
            load_night(
                target,
                REPRESENTATIONS,
                write(folder, "n2.csv", [HEADER, case("R1", "2024-01-05T10:00:00Z", "open")]),
            ),
            load_night(
                target, REPRESENTATIONS, write(folder, "n3.csv", [HEADER, night_1[0]]), present=["R1"]
            ),
            load_night(
                target,
                REPRESENTATIONS,
                write(
                    folder,
                    "n4.csv",
                    [
                        HEADER,
                        case("R2", "2024-01-08T10:00:00Z", "open"),
                        case("R3", "2024-01-12T10:00:00Z", "open"),
                    ],
                ),
            ),
        ]
        built = transform.run_dbt(
            settings, target, ["run", "--select", "stg_case_system__representations"], echo=quiet
        )
        assert built.success, built
        yield target, batches


def test_a_late_older_export_is_kept_but_the_newer_version_stays_current(nights):
    target, batches = nights
    assert [b.status for b in batches] == ["loaded"] * 4
    assert batches[1].rows_loaded == 1 and batches[1].rows_quarantined == 0  # kept in the raw table
    assert query(
        target,
        "select _batch_id, _is_deleted, _updated_at::text from raw_case_system.representations__current "
        "where _source_system = %s and representation_id = 'R1'",
        (SYSTEM,),
    ) == [(batches[0].batch_id, False, "2024-01-10 10:00:00+00")]
    assert query(
        target,
        "select status, source_updated_at::text from staging.stg_case_system__representations "
        "where source_system = %s and representation_id = 'R1'",
        (SYSTEM,),
    ) == [("closed", "2024-01-10 10:00:00+00")]


def test_a_deletion_beats_older_versions_and_a_newer_version_after_it_is_current(nights):
    target, batches = nights
    assert batches[2].rows_deleted == 2
    assert query(
        target,
        "select representation_id, _batch_id, _is_deleted from raw_case_system.representations__current "
        "where _source_system = %s and representation_id in ('R2', 'R3') order by 1",
        (SYSTEM,),
    ) == [("R2", batches[2].batch_id, True), ("R3", batches[3].batch_id, False)]
    assert query(
        target,
        "select representation_id, status from staging.stg_case_system__representations "
        "where source_system = %s order by 1",
        (SYSTEM,),
    ) == [("R1", "closed"), ("R3", "open")]


def test_a_tombstone_carries_the_time_of_the_version_it_deleted(nights):
    target, batches = nights
    assert query(
        target,
        "select representation_id, updated_at::text from raw_case_system.representations "
        "where _batch_id = %s and _is_deleted order by 1",
        (batches[2].batch_id,),
    ) == [("R2", "2024-01-10 10:00:00+00"), ("R3", "2024-01-10 10:00:00+00")]


# --- C: a file whose columns are merely reordered ------------------------------------------------------


def test_a_file_with_its_columns_reordered_loads_as_unchanged(tmp_path, warehouse, sql):
    columns = [*HEADER.split(","), "case_officer", "team"]
    rows = [[*case(k, "2024-01-10T10:00:00Z").split(","), "A. Officer", "Blue"] for k in ("R1", "R2")]
    first = write(tmp_path, "first.csv", [",".join(columns), *(",".join(r) for r in rows)])
    order = list(reversed(range(len(columns))))  # the extra columns swap places too
    second = write(
        tmp_path,
        "second.csv",
        [",".join(columns[i] for i in order), *(",".join(r[i] for i in order) for r in rows)],
    )
    with database.connect(warehouse, autocommit=True) as conn:
        load_file(conn, REPRESENTATIONS, first)
        again = load_file(conn, REPRESENTATIONS, second)
    assert (again.rows_in, again.rows_loaded, again.rows_unchanged) == (2, 2, 2)
    assert sql("select count(*) from raw_case_system.representations") == [(2,)]


# --- A4: rows stamped in the future, from a source database --------------------------------------------


def test_future_rows_are_quarantined_and_do_not_move_the_high_water_mark(tmp_path, settings, warehouse, sql):
    columns = HEADER.split(",")
    schema = "vendor_future"

    def insert(*rows: str) -> None:
        for row in rows:
            values = ", ".join("null" if v == "" else f"'{v}'" for v in row.split(","))
            sql(f"insert into {schema}.cases values ({values})")

    types = ", ".join(f"{c} timestamptz" if c == "updated_at" else f"{c} text" for c in columns)
    sql(f"create schema {schema}; create table {schema}.cases ({types})")
    insert(case("X1", "2024-01-01T09:00:00Z"), case("X2", "2099-01-01T09:00:00Z"), case("X3", "infinity"))
    path = tmp_path / "source.yml"
    path.write_text(
        f"source_system: {SYSTEM}\ncontract: case_system\nadapter: sql\nurl: warehouse-server:{warehouse.dbname}\n"
        f"tables:\n  representations:\n    from: {schema}.cases\n    detect_deletions: false\n"
    )
    config = load_source_config(path)

    def night() -> tuple:
        (result,) = load.load_source_system(settings, warehouse, config)
        mark = sql(
            "select high_water_mark::text from audit.source_watermarks where source_system = %s", (SYSTEM,)
        )
        return result, mark

    first, mark = night()
    assert (first.rows_in, first.rows_loaded, first.rows_quarantined) == (3, 1, 2)
    assert mark == [("2024-01-01 09:00:00+00",)]
    reasons = sql(
        "select raw_row ->> 'representation_id', reasons from audit.quarantine where batch_id = %s order by 1",
        (first.batch_id,),
    )
    assert [key for key, _ in reasons] == ["X2", "X3"]
    assert all(any(r.startswith("updated_at is in the future") for r in rs) for _, rs in reasons), reasons

    insert(case("X4", "2024-02-01T09:00:00Z"))  # a later change the future rows must not hide
    second, mark = night()
    assert (second.rows_in, second.rows_loaded, second.rows_quarantined) == (4, 2, 2)  # X1 again, unchanged
    assert mark == [("2024-02-01 09:00:00+00",)]
    assert sql("select representation_id from raw_case_system.representations order by 1") == [
        ("X1",),
        ("X4",),
    ]


# --- B3: stage order across nights ---------------------------------------------------------------------

STAGES = (
    "representation_id,stage,opened_date,due_date,extended_due_date,suspended_days,responded_date,outcome,"
    "investigator,investigation_cost,updated_at"
)


def stage(key: str, number: str, opened: str, updated: str = "2023-10-01T00:00:00Z") -> str:
    return f"{key},{number},{opened},,,0,,,,,{updated}"


def test_a_correction_that_breaks_stage_order_against_held_stages_is_quarantined(tmp_path, warehouse, sql):
    night_1 = [
        stage("CFS-X", "1", "2023-09-10"),
        stage("CFS-Y", "1", "2023-09-10"),
        stage("CFS-Y", "2", "2023-09-17"),
        stage("CFS-W", "1", "2023-09-10"),
    ]
    night_2 = [
        stage("CFS-X", "2", "2023-09-05", "2023-10-02T00:00:00Z"),  # Stage 2 opened before the held Stage 1
        stage("CFS-Y", "1", "2023-09-20", "2023-10-02T00:00:00Z"),  # Stage 1 corrected after the held Stage 2
        stage("CFS-W", "2", "2023-09-12", "2023-10-02T00:00:00Z"),  # in order: loaded
    ]
    with database.connect(warehouse, autocommit=True) as conn:
        first = load_file(conn, STAGES_TABLE, write(tmp_path, "stages.csv", [STAGES, *night_1]))
        second = load_file(conn, STAGES_TABLE, write(tmp_path, "stages.csv", [STAGES, *night_2]))
    assert (first.rows_loaded, first.rows_quarantined) == (4, 0)
    assert (second.rows_in, second.rows_loaded, second.rows_quarantined) == (3, 1, 2)
    kept = sql(
        "select raw_row ->> 'representation_id', raw_row ->> 'stage', reasons from audit.quarantine "
        "where batch_id = %s order by 1",
        (second.batch_id,),
    )
    assert [(k, s) for k, s, _ in kept] == [("CFS-X", "2"), ("CFS-Y", "1")]
    assert all(reasons == ["stage out of order: opened before the previous stage"] for _, _, reasons in kept)
    assert sql(
        "select representation_id, stage, opened_date::text from raw_case_system.stages where _batch_id = %s",
        (second.batch_id,),
    ) == [("CFS-W", "2", "2023-09-12")]


# --- C: statistics for what each load changed ----------------------------------------------------------


def test_the_load_step_analyzes_the_tables_it_changed_and_dbt_each_table_it_builds(settings, warehouse, sql):
    results = pipeline.step_load(settings, warehouse, "case_system", echo=quiet)
    loaded = {
        r["table"] for r in results if r["status"] == "loaded" and r["rows_loaded"] > r["rows_unchanged"]
    }
    assert loaded >= {"representations", "stages"}, results
    stats = sql(
        "select relname, last_analyze is not null, n_mod_since_analyze from pg_stat_user_tables "
        "where schemaname = 'raw_case_system' and relname = any(%s)",
        ([*loaded, *(f"{t}__current" for t in loaded)],),
    )
    assert len(stats) == 2 * len(loaded)
    assert all(analyzed and changed == 0 for _, analyzed, changed in stats), stats

    built = transform.run_dbt(
        settings,
        warehouse,
        ["build", "--select", "+dim_stage", "--exclude-resource-type", "test", *transform.scope_vars(True)],
        echo=quiet,
    )
    assert built.success, built
    assert sql(
        "select last_analyze is not null from pg_stat_user_tables where schemaname = 'marts' and relname = 'dim_stage'"
    ) == [(True,)]


def test_an_existing_warehouse_chooses_its_current_versions_again_by_source_time(tmp_path, warehouse, sql):
    """A warehouse whose current versions were chosen by batch alone (before ``_updated_at``): the next
    load gives its tombstones their time and chooses every current version again, once."""
    jan10 = "2024-01-10T10:00:00Z"
    newer = load_night(
        warehouse, REPRESENTATIONS, write(tmp_path, "n1.csv", [HEADER, case("R1", jan10), case("R2", jan10)])
    )
    older = load_night(
        warehouse,
        REPRESENTATIONS,
        write(tmp_path, "n2.csv", [HEADER, case("R1", "2024-01-05T10:00:00Z", "open")]),
    )
    load_night(
        warehouse, REPRESENTATIONS, write(tmp_path, "n3.csv", [HEADER, case("R1", jan10)]), present=["R1"]
    )
    # As the loader left them before: R1 current from the latest batch, tombstones with no time.
    sql("alter table raw_case_system.representations__current drop column _updated_at")
    sql("update raw_case_system.representations set updated_at = null where _is_deleted")
    sql(
        "update raw_case_system.representations__current set _batch_id = %s, _row_hash = 'old' "
        "where representation_id = 'R1'",
        (older.batch_id,),
    )
    load_night(warehouse, REPRESENTATIONS, write(tmp_path, "n4.csv", [HEADER, case("R3", jan10)]))
    assert sql(
        "select c.representation_id, c._batch_id, c._is_deleted, c._updated_at::text, c._row_hash = r._row_hash "
        "from raw_case_system.representations__current c join raw_case_system.representations r "
        "on r.representation_id = c.representation_id and r._batch_id = %s order by 1",
        (newer.batch_id,),
    ) == [
        ("R1", newer.batch_id, False, "2024-01-10 10:00:00+00", True),
        ("R2", newer.batch_id + 2, True, "2024-01-10 10:00:00+00", False),
    ]
    assert sql("select updated_at::text from raw_case_system.representations where _is_deleted") == [
        ("2024-01-10 10:00:00+00",)
    ]
