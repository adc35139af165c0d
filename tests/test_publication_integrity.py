"""Publication publishes exactly what was validated, and the published record is tamper-evident.

One real run (simulated council, dbt, GX) built once for the session (``publication_fixtures``), paused
between its validation and its publication while other commands try to slip in; each test then works
on its own template copy of the finished warehouse."""

# ruff: noqa: F811 (the fixtures imported from publication_fixtures)
from __future__ import annotations

from datetime import date

import pytest
from publication_fixtures import LATEST_MONTH, QUIET, built, copy  # noqa: F401

from complaints_warehouse import integrity, pipeline, publish
from complaints_warehouse.reports import bmmr_pack
from complaints_warehouse.warehouse import database

pytestmark = pytest.mark.slow

EARLIER_MONTH = date(2024, 2, 1)
EXIT_BUSY, EXIT_TAMPERED = 4, 5


def publications(copy) -> list[tuple]:
    return copy.sql("select report_month, version from published.bmmr_publications order by published_at")


def test_a_build_or_publish_waits_for_a_run_between_its_validation_and_its_publication(built):
    # While the run sat between validate and publish, neither a build nor another publication got in.
    assert built.transform_meanwhile.returncode == EXIT_BUSY, built.transform_meanwhile
    assert "building, validating or publishing the marts" in built.transform_meanwhile.stderr
    assert "held by run " in built.transform_meanwhile.stderr
    assert built.publish_meanwhile.returncode == EXIT_BUSY, built.publish_meanwhile
    # The run then published the figures it had validated (the checksum its validation recorded).
    assert "published 2024-03 version 1" in built.run.stdout


def test_the_run_publishes_the_figures_its_validation_recorded(copy, built):
    [(validated, published)] = copy.sql(
        "select v.checksum, p.checksum from published.bmmr_publications p join audit.validated_figures v "
        "on v.run_id = p.validation_run_id and v.report_month = p.report_month"
    )
    assert validated == published
    assert copy.sql("select validation_run_id from published.bmmr_publications") == [(built.run_id,)]


def _a_build_changes_march(copy) -> None:
    """What a transform run between validate and publish does to the marts: March's figures change."""
    copy.sql(
        "update marts.bmmr_monthly set complaints_received = complaints_received + 1 where bmmr_key = ("
        "select min(bmmr_key) from marts.bmmr_monthly where report_month = %s and period = 'month')",
        (LATEST_MONTH,),
    )


def test_a_transform_between_validate_and_publish_cannot_get_unvalidated_marts_published(copy):
    run_id = "test-validated-then-built"
    pipeline.step_validate(copy.settings, copy.target, run_id, **QUIET)
    _a_build_changes_march(copy)
    with pytest.raises(publish.PublicationRefused, match=f"changed after validation run {run_id}"):
        publish.publish_month(copy.target, run_id, published_by="test")
    assert publications(copy) == [(LATEST_MONTH, 1)]


def test_the_airflow_tasks_refuse_marts_built_after_their_validation(copy):
    from airflow.sdk.exceptions import AirflowFailException

    from complaints_warehouse import orchestration

    context = {"run_id": "manual__test-airflow-validated-then-built", "dag": None}
    orchestration.validate(context)
    _a_build_changes_march(copy)  # e.g. a manual `complaints-warehouse transform` between the tasks
    with pytest.raises(AirflowFailException, match="changed after validation run"):
        orchestration.publish(context)
    assert publications(copy) == [(LATEST_MONTH, 1)]


def _tamper_with_march(copy) -> None:
    copy.as_owner_bypassing_triggers(
        "update published.bmmr_figures set value = value + 5 where report_month = '2024-03-01' "
        "and version = 1 and period = 'month' and measure = 'complaints_received' and directorate = ("
        "select min(directorate) from published.bmmr_figures where report_month = '2024-03-01')"
    )


def test_figures_edited_with_triggers_off_are_detected_by_publish_pack_and_verify(copy, built):
    assert copy.cli("verify").returncode == 0
    _tamper_with_march(copy)

    verified = copy.cli("verify")
    assert verified.returncode == EXIT_TAMPERED, verified
    assert "2024-03 version 1: its figures were changed after publication" in verified.stdout

    published = copy.cli("publish")
    assert published.returncode == EXIT_TAMPERED, published
    assert "2024-03 version 1" in published.stderr and "tampered" in published.stderr
    assert "already published" not in published.stdout + published.stderr
    with pytest.raises(integrity.TamperingDetected, match="2024-03 version 1"):
        publish.publish_month(copy.target, built.run_id, published_by="test")

    pack = copy.cli("report", "bmmr")
    assert pack.returncode == EXIT_TAMPERED, pack
    assert "2024-03 version 1" in pack.stderr
    with pytest.raises(integrity.TamperingDetected):
        bmmr_pack.write(copy.settings, copy.target)
    assert not list((copy.settings.outputs_dir / "reports").glob("bmmr-pack-*.html"))
    assert publications(copy) == [(LATEST_MONTH, 1)]


def test_an_edited_publication_record_breaks_the_chain(copy):
    # The checksum and the figures edited together still break the chain, which covers the checksum.
    copy.as_owner_bypassing_triggers(
        "update published.bmmr_figures set value = value + 5 where report_month = '2024-03-01' "
        "and period = 'month' and measure = 'complaints_received'",
        "update published.bmmr_publications p set checksum = (select "
        + integrity.FIGURES_CHECKSUM
        + " from published.bmmr_figures f where f.report_month = p.report_month and f.version = p.version)",
    )
    verified = copy.cli("verify")
    assert verified.returncode == EXIT_TAMPERED, verified
    assert "2024-03 version 1: its publication record" in verified.stdout
    assert "changed after it was chained" in verified.stdout


def test_a_deleted_version_is_detected_and_named(copy, built):
    # A second publication (February, from the same validated run) is chained after March.
    assert (
        publish.publish_month(copy.target, built.run_id, month=EARLIER_MONTH, published_by="t").version == 1
    )
    head = copy.cli("verify")
    assert head.returncode == 0, head
    head_hash = head.stdout.rsplit(" ", 1)[1].strip()

    # March v1 removed, figures, record, chain entry and all.
    copy.as_owner_bypassing_triggers(
        "delete from published.bmmr_figures where report_month = '2024-03-01'",
        "delete from published.bmmr_publications where report_month = '2024-03-01'",
        "delete from published.publication_chain where report_month = '2024-03-01'",
    )
    verified = copy.cli("verify")
    assert verified.returncode == EXIT_TAMPERED, verified
    assert "2024-03 version 1" in verified.stdout and "was removed" in verified.stdout

    # Removing only a publication's figures, or its record, is named too.
    copy.as_owner_bypassing_triggers("delete from published.bmmr_figures where report_month = '2024-02-01'")
    assert "2024-02 version 1: its figures were removed" in copy.cli("verify").stdout

    # The chain's head, kept from an earlier verify (or pack), detects a removed latest publication.
    copy.as_owner_bypassing_triggers(
        "delete from published.bmmr_publications where report_month = '2024-02-01'",
        "delete from published.publication_chain where report_month = '2024-02-01'",
    )
    anchored = copy.cli("verify", "--head", head_hash)
    assert anchored.returncode == EXIT_TAMPERED and f"no longer contains {head_hash}" in anchored.stdout


def test_publications_made_before_the_chain_are_chained_on_upgrade(copy, built):
    # A warehouse published by the release before the chain: no chain table at all.
    copy.sql("drop table published.publication_chain")
    with database.connect(copy.target) as conn:
        assert conn.execute("select to_regclass('published.publication_chain')").fetchone()[0] is None
    pipeline.prepare(copy.settings)  # every command's bootstrap: the upgrade
    assert copy.sql("select chain_seq, report_month, version, upgraded from published.publication_chain") == [
        (1, LATEST_MONTH, 1, True)
    ]
    assert copy.cli("verify").returncode == 0
    # Later publications continue the chain; the upgrade runs once.
    publish.publish_month(copy.target, built.run_id, month=EARLIER_MONTH, published_by="test")
    pipeline.prepare(copy.settings)
    assert copy.sql(
        "select chain_seq, report_month, upgraded from published.publication_chain order by 1"
    ) == [
        (1, LATEST_MONTH, True),
        (2, EARLIER_MONTH, False),
    ]
    verified = copy.cli("verify")
    assert verified.returncode == 0 and "Verified 2 publication(s)" in verified.stdout


def test_the_pack_shows_the_verified_chain_head(copy):
    [path] = bmmr_pack.write(copy.settings, copy.target)
    head = copy.sql("select chain_hash from published.publication_chain")[0][0]
    assert head in path.read_text()
