"""Validated, published, frozen: the BMMR is published only from a run whose every expectation passed,
once per set of figures, and a late correction to a published month is a restatement, not a silent
change. All real: a simulated council loaded through the SQL adapter, ``dbt build``, the GX checkpoint."""

from __future__ import annotations

from datetime import date

import psycopg
import psycopg.sql
import pytest

from complaints_warehouse import bmmr_measures, pipeline, publish, transform
from complaints_warehouse.validate import ValidationFailed

pytestmark = pytest.mark.slow

QUIET = {"echo": lambda line: None}
# The simulated council's year ends on 31 March 2024: its latest complete month.
LATEST_MONTH = date(2024, 3, 1)


def publications(sql) -> list[tuple]:
    return sql(
        "select report_month, version, validation_run_id, checksum, published_by "
        "from published.bmmr_publications order by report_month, version"
    )


def validate_and_publish(settings, warehouse, run_id: str) -> dict:
    """Re-run only the gate and the publication, as the nightly run would after the build."""
    pipeline.step_validate(settings, warehouse, run_id, **QUIET)
    return pipeline.step_publish(settings, warehouse, run_id, published_by="test", **QUIET)


def test_a_validated_run_publishes_the_latest_complete_month_once_and_restates_a_late_correction(
    after_simulated_night, settings, warehouse, sql
):
    # The first run (pipeline.run_all of the simulated council): the session's simulated_night, copied.
    first = after_simulated_night.summary
    simulated_case_system = after_simulated_night.source
    assert first["publication"]["status"] == "published"
    [(month, version, run_id, checksum, published_by)] = publications(sql)
    assert (month, version, run_id) == (LATEST_MONTH, 1, first["run_id"])
    assert len(checksum) == 32 and published_by == "complaints-warehouse cli run"
    assert "published 2024-03 version 1" in pipeline.one_line(first)
    # The published cells are the month's BMMR, month and year to date, one row per measure.
    measures = len(_columns(sql, "bmmr_monthly")) - len(bmmr_measures.KEY_COLUMNS)
    figures = sql("select count(*) from published.bmmr_figures where report_month = %s", (LATEST_MONTH,))
    assert figures == sql(
        "select count(*) * 2 * %s from marts.bmmr_monthly where report_month = %s and period = 'month'",
        (measures, LATEST_MONTH),
    )
    received = sql(
        "select sum(value)::int from published.bmmr_figures where measure = 'representations_received' "
        "and period = 'month'"
    )
    assert received == sql(
        "select count(*)::int from marts.fct_representations where received_date >= %s", (LATEST_MONTH,)
    )

    # Nothing changed: nothing new is published.
    second = pipeline.run_all(settings, **QUIET)
    assert second["publication"]["status"] == "unchanged"
    assert len(publications(sql)) == 1

    # Frozen: the published figures cannot be edited in place.
    with pytest.raises(Exception, match="published figures are frozen"):
        sql("update published.bmmr_figures set value = value + 1")

    # A late correction in the case system: a March compliment was really a comment.
    with psycopg.connect(simulated_case_system.conninfo) as conn:
        case_ref, directorate = conn.execute(
            "update rms.cases set case_kind = 'COM', modified_at = now() where case_ref = ("
            "select case_ref from rms.cases where case_kind = 'CPL' and date_received >= %s "
            "order by case_ref limit 1) returning case_ref, directorate_name",
            (LATEST_MONTH,),
        ).fetchone()
    third = pipeline.run_all(settings, **QUIET)
    assert third["publication"]["status"] == "published" and third["publication"]["version"] == 2
    assert [p[:3] for p in publications(sql)] == [
        (LATEST_MONTH, 1, first["run_id"]),
        (LATEST_MONTH, 2, third["run_id"]),
    ]
    restated = publish.restatements(warehouse)
    changed = {
        (r["directorate"], r["period"], r["measure"]): (r["old_value"], r["new_value"]) for r in restated
    }
    assert {(d, p, m) for d, p, m in changed if m == "compliments_received"} == {
        (directorate, "month", "compliments_received"),
        (directorate, "financial_year_to_date", "compliments_received"),
    }
    old, new = changed[(directorate, "month", "compliments_received")]
    assert new == old - 1
    assert all(r["from_version"] == 1 and r["to_version"] == 2 for r in restated)
    # The batches that brought the correction: the case system's loads of changed rows since version 1
    # (the second run's batches re-read unchanged rows and are not named).
    batches = sql(
        "select array_agg(batch_id order by batch_id) from audit.load_batches where status = 'loaded' "
        "and source_system = 'rms' and table_name = 'representations' "
        "and rows_loaded > rows_unchanged "
        "and finished_at > (select published_at from published.bmmr_publications where version = 1)"
    )[0][0]
    assert batches and set(batches) <= set(restated[0]["source_batches"])
    assert all(r["reason"] == publish.LATE_CORRECTION for r in restated)
    # Version 1 is untouched; the report of restatements names the change.
    assert publications(sql)[0][3] == checksum
    assert sql("select count(*) from published.bmmr_figures where version = 1") == figures
    report = publish.format_restatements(restated)
    assert "2024-03 v1->v2" in report and "compliments_received" in report and case_ref


def failure_names(error: ValidationFailed) -> str:
    return "\n".join(f["expectation"] for f in error.summary.failed)


def test_broken_data_fails_the_right_expectation_and_publishes_nothing(
    after_simulated_night, settings, warehouse, sql
):
    # After a clean run_all of the simulated council: the session's simulated_night, copied.
    before = publications(sql)
    assert len(before) == 1

    def assert_caught(expectation: str, run: str) -> None:
        with pytest.raises(ValidationFailed) as failed:
            validate_and_publish(settings, warehouse, run)
        assert expectation in failure_names(failed.value), str(failed.value)
        assert expectation in str(failed.value)  # the run's report names it, with sample rows
        # The gate held: nothing new is published, and the run cannot be published from later either.
        assert publications(sql) == before
        with pytest.raises(publish.PublicationRefused, match="failed"):
            publish.publish_month(warehouse, run, published_by="test")
        assert sql("select bool_and(success) from audit.validation_results where run_id = %s", (run,)) == [
            (False,)
        ]

    # A BMMR cell edited by hand after the build.
    key = (
        "2024-03|month|"
        + sql(
            "select directorate || '|' || procedure_code from marts.bmmr_monthly "
            "where period = 'month' and report_month = %s and complaints_received > 0 limit 1",
            (LATEST_MONTH,),
        )[0][0]
    )
    sql(
        "update marts.bmmr_monthly set complaints_received = complaints_received + 1 where bmmr_key = %s",
        (key,),
    )
    assert_caught("BMMR received (all, complaints, compliments) equals the facts", "test-edited-cell")
    sql(
        "update marts.bmmr_monthly set complaints_received = complaints_received - 1 where bmmr_key = %s",
        (key,),
    )

    # A month missing from the BMMR.
    sql(
        "create table audit.saved_month as select * from marts.bmmr_monthly where report_month = '2023-10-01'"
    )
    sql("delete from marts.bmmr_monthly where report_month = '2023-10-01'")
    assert_caught("Every month is present once per directorate, procedure and period", "test-missing-month")
    sql("insert into marts.bmmr_monthly select * from audit.saved_month")
    sql("drop table audit.saved_month")

    # A case duplicated in the fact under a second key (the table's primary key cannot stop that).
    columns = _columns(sql, "fct_representations")
    assert columns[0] == "representation_key"
    sql(
        psycopg.sql.SQL(
            "insert into marts.fct_representations ({columns}) select 'duplicate-' || representation_key, {rest} "
            "from marts.fct_representations order by representation_key limit 1"
        ).format(
            columns=psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)),
            rest=psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns[1:])),
        )
    )
    assert_caught("Every fact's natural key is unique", "test-duplicated-case")
    sql("delete from marts.fct_representations where representation_key like 'duplicate-%'")

    # The data repaired, the gate opens again (and the figures are those already published).
    assert validate_and_publish(settings, warehouse, "test-repaired")["status"] == "unchanged"

    # A payment turned negative in the raw data (by hand: the loader would quarantine it), then rebuilt
    # in full, since an edit in place comes in no new batch for the incremental facts to take in.
    sql(
        "update raw_case_system.payments set amount = -amount "
        "where payment_id = (select min(payment_id) from raw_case_system.payments)"
    )
    transform.build(settings, warehouse, full_refresh=True, **QUIET)
    assert_caught("Money is never negative", "test-negative-payment")


def _columns(sql, table: str) -> list[str]:
    return [
        r[0]
        for r in sql(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s "
            "order by ordinal_position",
            (table,),
        )
    ]
