"""Incremental facts: a night's incremental build equals a full rebuild, row for row, and recomputes only
the cases that night's load changed (late corrections, deletions, new cases, a reorganisation)."""

from __future__ import annotations

import json

import psycopg
import pytest

from complaints_warehouse import pipeline, transform

QUIET = {"echo": lambda line: None}
FACTS = {
    "fct_representations": "representation_key",
    "fct_complaint_stages": "stage_key",
    "fct_complaint_points": "point_key",
    "fct_remedies": "remedy_key",
    "fct_payments": "payment_key",
}


def correct_a_stage_outcome(conn, other_than: tuple[str, ...] = ()) -> str:
    """A late correction of a closed case's Stage 1 outcome (not upheld -> upheld); returns the case."""
    corrected = conn.execute(
        "select case_ref from rms.case_stages where stage_code = 'S1' and outcome_code = 'NUP' "
        "and case_ref in (select case_ref from rms.cases where case_status = 'C') and case_ref <> all(%s) "
        "order by case_ref limit 1",
        (list(other_than),),
    ).fetchone()[0]
    conn.execute(
        "update rms.case_stages set outcome_code = 'UPH', modified_at = now() where case_ref = %s and stage_code = 'S1'",
        (corrected,),
    )
    return corrected


def delete_a_payment(conn) -> str:
    payment = conn.execute("select payment_no from rms.payments order by payment_no limit 1").fetchone()[0]
    conn.execute("delete from rms.payments where payment_no = %s", (payment,))
    return payment


def delete_a_case(conn, case: str) -> None:
    """The case and everything of it deleted at source."""
    for table in ("case_issues", "case_stages", "remedies", "payments", "lgsco_cases", "cases"):
        conn.execute(f"delete from rms.{table} where case_ref = %s", (case,))  # noqa: S608


def change_the_source(sim) -> dict:
    """Four simulated days (1 April reorganises a service area), plus a late correction of an old
    case's stage outcome, a case deleted outright, one stage and one payment deleted at source."""
    days = sim.advance(4)
    with psycopg.connect(sim.conninfo) as conn:
        corrected = correct_a_stage_outcome(conn)
        two_stages = conn.execute(
            "select case_ref from rms.case_stages where case_ref <> %s group by case_ref "
            "having count(*) >= 2 order by case_ref limit 1",
            (corrected,),
        ).fetchone()[0]
        conn.execute(
            "delete from rms.case_stages where case_ref = %s and stage_code = "
            "(select max(stage_code) from rms.case_stages where case_ref = %s)",
            (two_stages, two_stages),
        )
        payment = delete_a_payment(conn)
        deleted = conn.execute(
            "select case_ref from rms.cases where case_ref not in (%s, %s) and case_ref in "
            "(select case_ref from rms.case_issues) order by case_ref desc limit 1",
            (corrected, two_stages),
        ).fetchone()[0]
        # And a case of the first night, so that the status snapshot has a version to close.
        deleted_old = conn.execute(
            "select min(case_ref) from rms.cases where case_ref not in (%s, %s, %s)",
            (corrected, two_stages, deleted),
        ).fetchone()[0]
        for case in (deleted, deleted_old):
            delete_a_case(conn, case)
    return {
        "days": days,
        "corrected": corrected,
        "two_stages": two_stages,
        "payment": payment,
        "deleted": deleted,
        "deleted_old": deleted_old,
    }


def columns_but_built_at(sql, fact: str) -> str:
    """The fact's columns but built_at (when the row was recomputed: a rebuild stamps every row anew)."""
    names = sql(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s "
        "and column_name <> 'built_at' order by ordinal_position",
        (fact,),
    )
    return ", ".join(name for (name,) in names)


def fact_rows(sql, schema: str, fact: str) -> list[tuple]:
    return sql(f"select {columns_but_built_at(sql, fact)} from {schema}.{fact} order by 1")  # noqa: S608


# The status snapshot with its timestamps as "before" (a version from before the night) or "night".
SNAPSHOT_ROWS = """
    select representation_key, status, closed_date, procedure_code, service_area_code, representation_type,
        batch_id, case when dbt_valid_from > %(before)s then 'night' else 'before' end,
        case when dbt_valid_to is null then 'open' when dbt_valid_to > %(before)s then 'night' else 'before' end
    from {} order by 1, 8, 9
"""


def snapshot_build_deleted(sql) -> int:
    return sql(
        "select rows_deleted from audit.incremental_watermarks where model = 'marts.representation_status_history' "
        "and after_batch_id is not null"
    )[0][0]


def full_refresh(settings, warehouse, select: str):
    """``dbt run --full-refresh`` of ``select``, with the night's vars (a change of vars costs dbt a full parse)."""
    return transform.run_dbt(
        settings,
        warehouse,
        ["run", "--full-refresh", "--select", select, *transform.scope_vars(True)],
        **QUIET,
    )


def night_built_at(sql):
    return sql("select max(built_at) from marts.fct_representations")[0][0]


def test_an_incremental_night_equals_a_full_rebuild_and_touches_only_changed_cases(
    after_simulated_night, settings, warehouse, sql
):
    # The first night: the session's simulated council after a clean run (its case system loaded, every
    # model, seed and snapshot built), copied with its case system. The test is about the next night.
    simulated_case_system = after_simulated_night.source
    facts = " ".join(FACTS)
    (first_through,) = sql(
        "select max(through_batch_id) from audit.incremental_watermarks where status = 'built'"
    )[0]
    cases_before = sql("select count(*) from marts.fct_representations")[0][0]
    (snapshot_before,) = sql("select max(dbt_valid_from) from marts.representation_status_history")[0]
    sql("create schema night_copy")
    sql("create table night_copy.history_before as select * from marts.representation_status_history")

    changed = change_the_source(simulated_case_system)
    assert any(day.get("reorganised") for day in changed["days"])
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)

    # Copies of views' rows left by a run that died: one of a view since renamed, one of a view the night
    # builds, holding a duplicated key its unique test would refuse were it read as tonight's.
    stale = "staging.stg_case_system__representations__night"
    sql(
        "set role transformer; create table staging.stg_renamed_view__night (representation_key text); "
        f"create table {stale} as select * from staging.stg_case_system__representations limit 1; "
        f"insert into {stale} select * from {stale}; comment on table {stale} is 'a run that died'"
    )

    # The night exactly as the DAG runs it: source freshness, then dbt build (models and tests).
    night = pipeline.step_transform(settings, warehouse, **QUIET)
    assert night["success"] and not night["freshness"]["errors"]
    results = json.loads((transform.target_dir(settings) / "run_results.json").read_text())
    inserted = {
        r["unique_id"].rsplit(".", 1)[1]: r["adapter_response"].get("rows_affected")
        for r in results["results"]
        if r["unique_id"].rsplit(".", 1)[1] in FACTS
    }
    sql("create schema incremental_copy")
    for fact in FACTS:
        sql(f"create table incremental_copy.{fact} as select * from marts.{fact}")
    sql("create table incremental_copy.dim_service_area as select * from marts.dim_service_area")
    sql("create table night_copy.history_night as select * from marts.representation_status_history")

    # What the night changed, worked out here from the raw batches by the documented rule: every case a
    # new row or tombstone names, and every case of a service area whose versions changed.
    expected_changed = sql(
        """
        with touched as (
            select _source_system || ':' || representation_id as representation_key
            from raw_case_system.representations where _batch_id > %(after)s
            union select _source_system || ':' || representation_id from raw_case_system.stages
            where _batch_id > %(after)s
            union select _source_system || ':' || representation_id from raw_case_system.complaint_points
            where _batch_id > %(after)s and representation_id is not null
            union select _source_system || ':' || representation_id from raw_case_system.remedies
            where _batch_id > %(after)s and representation_id is not null
            union select _source_system || ':' || representation_id from raw_case_system.payments
            where _batch_id > %(after)s and representation_id is not null
            union select _source_system || ':' || representation_id from raw_case_system.representations
            where (_source_system, service_area_code) in (
                select _source_system, service_area_code from raw_case_system.service_areas
                where _batch_id > %(after)s)
        )
        select representation_key from touched where representation_key is not null
        """,
        {"after": first_through},
    )
    expected_changed = {r[0] for r in expected_changed}
    # A fact keyed by its own rows also takes the case of each of its rows deleted at source.
    deleted_payment_cases = {
        r[0]
        for r in sql(
            "select _source_system || ':' || representation_id from raw_case_system.payments "
            "where payment_id in (select payment_id from raw_case_system.payments "
            "where _batch_id > %s and _is_deleted) and representation_id is not null",
            (first_through,),
        )
    }
    assert deleted_payment_cases - expected_changed  # the deleted payment's case changed nothing else
    night_builds = dict(
        (model.split(".")[1], row)
        for model, *row in sql(
            "select model, rebuilt_all, changed_cases, after_batch_id, status from audit.incremental_watermarks "
            "where after_batch_id is not null"
        )
    )
    # The status snapshot compared only the cases named by the night's raw representations.
    assert "representation_status_history" in night_builds, sql(
        "select * from audit.incremental_watermarks where model like '%history'"
    )
    snapshot_build = night_builds.pop("representation_status_history")
    night_representations = sql(
        "select count(distinct representation_id) from raw_case_system.representations where _batch_id > %s",
        (first_through,),
    )[0][0]
    assert snapshot_build == [False, night_representations, first_through, "built"]
    # The Ombudsman's decisions, kept like a fact: the changed cases and those of the Ombudsman cases re-sent.
    rebuilt_all, changed_cases, after, status = night_builds.pop("int_ombudsman__case_decisions")
    assert (rebuilt_all, after, status) == (False, first_through, "built")
    assert changed_cases >= len(expected_changed)
    assert set(night_builds) == set(FACTS)
    for fact, (rebuilt_all, changed_cases, after, status) in night_builds.items():
        assert (rebuilt_all, after, status) == (False, first_through, "built"), fact
        extra = deleted_payment_cases if fact == "fct_payments" else set()
        assert changed_cases == len(expected_changed | extra), fact
    assert 0 < len(expected_changed) < cases_before / 2
    # Only the changed cases' rows were written: every row inserted belongs to a changed case.
    for fact in FACTS:
        in_changed = sql(
            f"select count(*) from marts.{fact} where representation_key = any(%s)",  # noqa: S608
            (list(expected_changed | (deleted_payment_cases if fact == "fct_payments" else set())),),
        )[0][0]
        assert inserted[fact] == in_changed, fact
    assert inserted["fct_representations"] < cases_before / 2

    # The changes themselves reached the facts.
    rms = lambda ref: f"rms:{ref}"  # noqa: E731
    for fact in FACTS:
        assert sql(
            f"select count(*) from marts.{fact} where representation_key = %s",  # noqa: S608
            (rms(changed["deleted"]),),
        ) == [(0,)], fact
    assert sql(
        "select outcome_code from marts.fct_complaint_stages where stage_key = %s",
        (rms(changed["corrected"]) + ":1",),
    ) == [("upheld",)]
    assert sql(
        "select count(*) from marts.fct_payments where payment_key = %s", (rms(changed["payment"]),)
    ) == [(0,)]
    stages_left = sql(
        "select count(*) from raw_case_system.stages__current where representation_id = %s and not _is_deleted",
        (changed["two_stages"],),
    )[0][0]
    assert stages_left >= 1
    assert sql(
        "select count(*) from marts.fct_complaint_stages where representation_key = %s",
        (rms(changed["two_stages"]),),
    ) == [(stages_left,)]

    # The night's tests of the facts looked only at the rows it recomputed (built_at of this run); of the
    # staging views, at the cases loaded since the last build.
    tests = {r["unique_id"]: r for r in results["results"] if r["unique_id"].startswith("test.")}
    fact_test = next(r for uid, r in tests.items() if "not_null_fct_complaint_stages_directorate" in uid)
    assert "built_at = '" in fact_test["compiled_code"]
    # A staging view's tests read its rows in the night's scope, copied once after the view was built
    # (<view>__night), and no copy outlives the run: neither tonight's nor those left before it.
    view_test = next(r for uid, r in tests.items() if "unique_stg_case_system__representations_" in uid)
    assert '"stg_case_system__representations__night"' in view_test["compiled_code"]
    assert sql("select count(*) from pg_tables where tablename like '%%\\_\\_night'") == [(0,)]
    assert all(r["status"] == "pass" for r in tests.values())
    assert sql(
        "select count(*) from marts.fct_representations where built_at = %s", (night_built_at(sql),)
    ) == [(inserted["fct_representations"],)]

    # The deleted case's open version was closed off at the night's snapshot time (the time of its new
    # versions), as hard_deletes: invalidate would.
    assert sql(
        "select count(*) filter (where dbt_valid_to is null), count(*) from marts.representation_status_history "
        "where representation_key = %s",
        (rms(changed["deleted_old"]),),
    ) == [(0, 1)]
    assert sql(
        "select max(dbt_valid_to) = (select max(dbt_valid_from) from marts.representation_status_history) "
        "from marts.representation_status_history where representation_key = %s",
        (rms(changed["deleted_old"]),),
    ) == [(True,)]
    assert snapshot_build_deleted(sql) == 1

    # The night's snapshot equals one that compared every case: put the history back as it was before
    # the night, forget the night's watermark, and snapshot again.
    sql("truncate marts.representation_status_history")
    sql("insert into marts.representation_status_history select * from night_copy.history_before")
    sql("delete from audit.incremental_watermarks where model = 'marts.representation_status_history'")
    # The night's vars on every command but the unscoped test: a change of vars costs dbt a full parse.
    every_case = transform.run_dbt(
        settings,
        warehouse,
        ["snapshot", "--select", "representation_status_history", *transform.scope_vars(True)],
        **QUIET,
    )
    assert every_case.success, every_case.failures
    assert sql(
        "select rebuilt_all from audit.incremental_watermarks where model = 'marts.representation_status_history'"
    ) == [(True,)]
    window = {"before": snapshot_before}
    assert sql(SNAPSHOT_ROWS.format("night_copy.history_night"), window) == sql(
        SNAPSHOT_ROWS.format("marts.representation_status_history"), window
    )

    # A full rebuild gives exactly the same rows (built_at aside: a rebuild stamps every row anew). The
    # view on dim_service_area goes with it (replacing the table drops the views on it).
    rebuilt = full_refresh(
        settings, warehouse, f"{facts} dim_service_area int_representations__service_area_versions"
    )
    assert rebuilt.success, rebuilt.failures
    for fact in [*FACTS, "dim_service_area"]:
        columns = columns_but_built_at(sql, fact)
        assert sql(
            f"select count(*) from (select {columns} from incremental_copy.{fact} except all "  # noqa: S608
            f"select {columns} from marts.{fact}) as only_incremental"
        ) == [(0,)], fact
        assert sql(
            f"select count(*) from (select {columns} from marts.{fact} except all "  # noqa: S608
            f"select {columns} from incremental_copy.{fact}) as only_rebuilt"
        ) == [(0,)], fact
        assert fact_rows(sql, "incremental_copy", fact) == fact_rows(sql, "marts", fact), fact

    # Uniqueness of each fact's key is its primary key's, not a data test: PostgreSQL refuses a duplicate.
    for fact, key in FACTS.items():
        assert sql(
            "select array_agg(attname::text) from pg_constraint inner join pg_attribute "
            "on attrelid = conrelid and attnum = any(conkey) where conrelid = %s::regclass and contype = 'p'",
            (f"marts.{fact}",),
        ) == [([key],)], fact
    with pytest.raises(psycopg.errors.UniqueViolation):
        sql("insert into marts.fct_payments select * from marts.fct_payments limit 1")

    # A nightly build tests only the rows it recomputed: a bad row it did not recompute passes its
    # scoped tests (none of its rows are this run's) and fails the same tests run without the scope.
    sql(
        "update marts.fct_representations set directorate = null "
        "where representation_key = (select min(representation_key) from marts.fct_representations)"
    )
    scoped = transform.run_dbt(
        settings,
        warehouse,
        ["test", "--select", "fct_representations", "--vars", '{"test_recomputed_rows_only": true}'],
        **QUIET,
    )
    assert scoped.success, scoped.failures
    every_row = transform.run_dbt(settings, warehouse, ["test", "--select", "fct_representations"], **QUIET)
    assert [f.split(":")[0] for f in every_row.failures] == [
        uid for uid in _test_ids(settings) if "not_null_fct_representations_directorate" in uid
    ]


def _test_ids(settings) -> list[str]:
    results = json.loads((transform.target_dir(settings) / "run_results.json").read_text())
    return [r["unique_id"] for r in results["results"]]


#: The aggregates kept up to date from the facts, and the marts built on them.
AGGREGATES = {
    "intermediate.int_bmmr__fact_counts": "group_key",
    "intermediate.int_annual_report__fact_cells": "cell_key",
}
AGGREGATE_READERS = ("marts.bmmr_monthly", "marts.annual_report")
#: The council's record of the Ombudsman's decisions, kept night by night like a fact.
OMBUDSMAN_DECISIONS = "intermediate.int_ombudsman__case_decisions"


def _columns_but(sql, relation: str, *left_out: str) -> str:
    schema, table = relation.split(".")
    names = sql(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
        "and column_name <> all(%s) order by ordinal_position",
        (schema, table, list(left_out)),
    )
    return ", ".join(name for (name,) in names)


def test_a_night_adds_its_change_to_the_aggregates_and_they_equal_adding_everything_up(
    after_simulated_night, settings, warehouse, sql
):
    """The BMMR's counts and the annual report's cells take in a night's change (the facts' rows written,
    less the rows they took out) and touch only the groups it changed; adding every row up again gives the
    same rows, and so the same BMMR and annual report. A group whose rows all went is left out."""
    source = after_simulated_night.source
    # The BMMR group with the fewest events, and every case with an event in it: deleted, they leave it empty.
    emptied, emptied_cases = sql(
        "with g as (select group_key, report_month, directorate, procedure_code "
        "from intermediate.int_bmmr__fact_counts order by events, group_key limit 1) "
        "select g.group_key, array_agg(distinct e.representation_key) from intermediate.int_bmmr__figure_events e "
        "join g using (report_month, directorate, procedure_code) group by g.group_key"
    )[0]
    assert 0 < len(emptied_cases) <= 20, emptied_cases
    with psycopg.connect(source.conninfo) as conn:
        # A late correction of a closed case's outcome, a payment and whole cases deleted at source; no
        # day passes (no reorganisation: the annual report's service areas stay as they were).
        emptied_refs = tuple(key.removeprefix("rms:") for key in emptied_cases)
        corrected = correct_a_stage_outcome(conn, other_than=emptied_refs)
        delete_a_payment(conn)
        deleted = conn.execute(
            "select case_ref from rms.cases where case_ref <> %s order by case_ref desc limit 1", (corrected,)
        ).fetchone()[0]
        for case in {deleted, *emptied_refs}:
            delete_a_case(conn, case)
        # The Ombudsman's decision on one case recorded late as upheld; another decision deleted at source.
        left_alone = [corrected, deleted, *emptied_refs]
        upheld, withdrawn = (
            row[0]
            for row in conn.execute(
                "select lgsco_ref from rms.lgsco_cases where date_decided is not null and decision_code <> 'UPH' "
                "and case_ref <> all(%s) order by lgsco_ref limit 2",
                (left_alone,),
            ).fetchall()
        )
        conn.execute(
            "update rms.lgsco_cases set decision_code = 'UPH', modified_at = now() where lgsco_ref = %s",
            (upheld,),
        )
        conn.execute("delete from rms.lgsco_cases where lgsco_ref = %s", (withdrawn,))
    decisions_before = sql(f"select count(*) from {OMBUDSMAN_DECISIONS}")[0][0]  # noqa: S608
    decided = sql(
        f"select decision_code from {OMBUDSMAN_DECISIONS} where ombudsman_case_key in (%s, %s)",  # noqa: S608
        (f"rms:{upheld}", f"rms:{withdrawn}"),
    )
    assert len(decided) == 2 and ("upheld",) not in decided, decided
    (first_night,) = sql("select max(built_at) from intermediate.int_bmmr__fact_counts")[0]
    # The month, directorate and procedure the latest deleted case was received in, and how many of the
    # deleted cases were received there.
    received_group = (
        "select date_trunc('month', received_date)::date, directorate, procedure_code from marts.fct_representations "
        "where representation_key = %s"
    )
    group = sql(received_group, (f"rms:{deleted}",))[0]
    deleted_there = sql(
        "select count(*) from marts.fct_representations where representation_key = any(%s) "
        "and (date_trunc('month', received_date)::date, directorate, procedure_code) = (%s, %s, %s)",
        ([f"rms:{case}" for case in {deleted, *emptied_refs}], *group),
    )[0][0]
    received_there = (
        "select representations_received from intermediate.int_bmmr__fact_counts "
        "where (report_month, directorate, procedure_code) = (%s, %s, %s)"
    )
    (received_before,) = sql(received_there, group)[0]
    assert received_before >= deleted_there >= 1
    groups_before = {a: sql(f"select count(*) from {a}")[0][0] for a in AGGREGATES}  # noqa: S608

    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    night = pipeline.step_transform(settings, warehouse, **QUIET)
    assert night["success"]

    # Each aggregate added the night's change: its build did not add everything up, and it rewrote only
    # the groups the change touched.
    for aggregate in AGGREGATES:
        assert sql(
            "select rebuilt_all, status from audit.incremental_watermarks where model = %s "
            "order by started_at desc limit 1",
            (aggregate,),
        ) == [(False, "built")], aggregate
        touched = sql(
            f"select count(*) from {aggregate} where built_at > %s",  # noqa: S608
            (first_night,),
        )[0][0]
        assert 0 < touched < groups_before[aggregate] / 2, aggregate
    # The Ombudsman's decisions took in the night's change alone: the late decision, the one deleted.
    assert sql(
        "select rebuilt_all, status from audit.incremental_watermarks where model = %s order by started_at desc limit 1",
        (OMBUDSMAN_DECISIONS,),
    ) == [(False, "built")]
    assert sql(
        f"select decision_code, built_at > %s from {OMBUDSMAN_DECISIONS} where ombudsman_case_key = %s",  # noqa: S608
        (first_night, f"rms:{upheld}"),
    ) == [("upheld", True)]
    assert sql(
        f"select count(*) from {OMBUDSMAN_DECISIONS} where ombudsman_case_key = %s",  # noqa: S608
        (f"rms:{withdrawn}",),
    ) == [(0,)]
    rewritten = sql(f"select count(*) from {OMBUDSMAN_DECISIONS} where built_at > %s", (first_night,))[0][0]  # noqa: S608
    assert 0 < rewritten < decisions_before / 2
    # The night's removed rows lasted only as long as its dbt run.
    assert sql("select count(*) from audit.fact_removed_rows") == [(0,)]
    sql("create schema night_copy")
    # The deleted cases' month of receipt lost them.
    assert sql(received_there, group) == [(received_before - deleted_there,)]
    # The emptied group stays with no events, and the BMMR's counts leave it out, as a full count would.
    assert sql("select events from intermediate.int_bmmr__fact_counts where group_key = %s", (emptied,)) == [
        (0,)
    ]
    assert sql(
        "select count(*) from intermediate.int_bmmr__monthly_counts "
        "where row(report_month, directorate, procedure_code)::text = %s",
        (emptied,),
    ) == [(0,)]

    for relation in (*AGGREGATES, *AGGREGATE_READERS, OMBUDSMAN_DECISIONS):
        sql(f"create table night_copy.{relation.split('.')[1]} as select * from {relation}")  # noqa: S608

    # Adding every row up again (--full-refresh) gives the same groups, figures and reports.
    # The view between them goes with the table it reads (replacing a table drops the views on it).
    rebuilt = full_refresh(
        settings,
        warehouse,
        "int_bmmr__fact_counts int_bmmr__monthly_counts int_annual_report__fact_cells bmmr_monthly annual_report "
        "int_ombudsman__case_decisions int_bmmr__figure_events",
    )
    assert rebuilt.success, rebuilt.failures
    for aggregate in AGGREGATES:
        assert sql(
            "select rebuilt_all from audit.incremental_watermarks where model = %s order by started_at desc limit 1",
            (aggregate,),
        ) == [(True,)]
    for relation in (*AGGREGATES, *AGGREGATE_READERS, OMBUDSMAN_DECISIONS):
        copy = f"night_copy.{relation.split('.')[1]}"
        # A group whose rows all went stays in the nightly table with none: its readers leave it out.
        kept = (
            " where " + ("events" if "bmmr" in relation else "cells") + " > 0"
            if relation in AGGREGATES
            else ""
        )
        columns = _columns_but(sql, relation, "built_at")
        only_night = sql(
            f"select count(*) from (select {columns} from {copy}{kept} except all "  # noqa: S608
            f"select {columns} from {relation}) as only_night"
        )
        only_rebuilt = sql(
            f"select count(*) from (select {columns} from {relation} except all "  # noqa: S608
            f"select {columns} from {copy}{kept}) as only_rebuilt"
        )
        assert (only_night, only_rebuilt) == ([(0,)], [(0,)]), relation


def test_a_row_moved_to_another_case_stays_there_when_its_first_case_changes_later(
    after_simulated_night, settings, warehouse, sql
):
    """A row keyed by itself (a complaint point; an Ombudsman case) re-sent under another case one night,
    then its first case changed a later night: that night takes the row out (an older version named the
    changed case) and must put it back under the case it belongs to now, as a full rebuild has it."""
    source = after_simulated_night.source

    def night() -> None:
        pipeline.step_load_case_systems(settings, warehouse, **QUIET)
        assert pipeline.step_transform(settings, warehouse, **QUIET)["success"]

    with psycopg.connect(source.conninfo) as conn:
        issue, first_case = conn.execute(
            "select issue_no, case_ref from rms.case_issues order by issue_no limit 1"
        ).fetchone()
        decision, decided_case = conn.execute(
            "select lgsco_ref, case_ref from rms.lgsco_cases where date_decided is not null and case_ref <> %s "
            "order by lgsco_ref limit 1",
            (first_case,),
        ).fetchone()
        # Cases received before either, so that the moved rows' dates stay within their new case's.
        new_case, new_decided_case = (
            conn.execute(
                "select case_ref from rms.cases where case_ref <> all(%s) and date_received <= "
                "(select date_received from rms.cases where case_ref = %s) order by case_ref limit 1",
                ([first_case, decided_case], case),
            ).fetchone()[0]
            for case in (first_case, decided_case)
        )
        conn.execute(
            "update rms.case_issues set case_ref = %s, modified_at = now() where issue_no = %s",
            (new_case, issue),
        )
        conn.execute(
            "update rms.lgsco_cases set case_ref = %s, modified_at = now() where lgsco_ref = %s",
            (new_decided_case, decision),
        )
    night()
    moved = (
        ("select representation_key from marts.fct_complaint_points where point_key = %s", f"rms:{issue}"),
        (
            f"select representation_key from {OMBUDSMAN_DECISIONS} where ombudsman_case_key = %s",  # noqa: S608
            f"rms:{decision}",
        ),
    )
    assert [sql(query, (key,)) for query, key in moved] == [
        [(f"rms:{new_case}",)],
        [(f"rms:{new_decided_case}",)],
    ]

    # A later night changes the cases the rows were first under (and nothing of the rows themselves).
    with psycopg.connect(source.conninfo) as conn:
        conn.execute(
            "update rms.cases set risk = case when risk = 'H' then 'L' else 'H' end, modified_at = now() "
            "where case_ref = any(%s)",
            ([first_case, decided_case],),
        )
    night()
    assert [sql(query, (key,)) for query, key in moved] == [
        [(f"rms:{new_case}",)],
        [(f"rms:{new_decided_case}",)],
    ]
    # The night took the rows out and recomputed them: they were in its change, not left alone.
    (night_at,) = sql("select max(built_at) from marts.fct_representations")[0]
    assert sql("select built_at from marts.fct_complaint_points where point_key = %s", (f"rms:{issue}",)) == [
        (night_at,)
    ]
