"""Least privilege, proved against a real PostgreSQL after a real run: each role reaches only its job."""

from __future__ import annotations

import dataclasses
import uuid

import psycopg
import pytest

from complaints_warehouse import pipeline
from complaints_warehouse.warehouse import database, roles
from complaints_warehouse.warehouse.bootstrap import bootstrap

# One relation of each layer, as the pipeline leaves them after a run of the bundled sample.
RAW = ("raw_case_system.representations", "raw_ombudsman.decisions", "raw_reference.authorities")
STAGING = "staging.stg_case_system__representations"
INTERMEDIATE = "intermediate.int_representations__stage_rollup"
AUDIT = ("audit.load_batches", "audit.quarantine", "audit.pipeline_runs", "audit.validation_results")
RESTRICTED = ("restricted.complainants", "restricted.quarantine")
MART = "marts.fct_representations"
PUBLISHED = "published.bmmr_publications"


def refused(target, job: str, statement: str) -> bool:
    """True when ``job``'s role is refused ``statement`` for want of privileges."""
    with database.connect(roles.as_role(target, job)) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            return True
        conn.rollback()  # nothing a check runs is kept
    return False


@pytest.fixture
def ran(after_sample_night, warehouse):
    """After a run of the bundled sample (this test's own copy of the session's ``sample_night``)."""
    return warehouse


@pytest.mark.slow
def test_after_a_run_each_role_reaches_only_its_layer(ran, sql):
    # The run itself worked under the roles: the loader owns raw, the transformer owns what dbt made.
    owners = dict(
        sql(
            "select n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname || '.' || c.relname = any(%s)",
            ([*RAW, "restricted.complainants", STAGING, INTERMEDIATE, MART],),
        )
    )
    assert {owners[r] for r in (*RAW, "restricted.complainants")} == {ran.logins.name("loader")}
    assert {owners[r] for r in (STAGING, INTERMEDIATE, MART)} == {ran.logins.name("transformer")}
    assert sql(f"select count(*) > 0 from {MART}") == [(True,)]

    # bi_reader: the marts and what was published, nothing else.
    for relation in (*RAW, STAGING, INTERMEDIATE, *AUDIT, *RESTRICTED):
        assert refused(ran, "bi_reader", f"select * from {relation} limit 1"), relation
    for relation in (MART, "marts.dim_date", PUBLISHED, "published.bmmr_figures"):
        assert not refused(ran, "bi_reader", f"select * from {relation} limit 1"), relation
    assert refused(ran, "bi_reader", f"delete from {MART}")

    # The loader cannot read, write, alter or drop a mart, nor touch what was published.
    for statement in (
        f"select * from {MART} limit 1",
        f"insert into {MART} (representation_id) values ('X')",
        f"alter table {MART} add column sneaky text",
        f"drop table {MART}",
        "create table marts.sneaky (x int)",
        f"insert into {PUBLISHED} select * from {PUBLISHED}",
        f"select * from {STAGING} limit 1",
        "select * from audit.validation_results limit 1",
    ):
        assert refused(ran, "loader", statement), statement
    # ... and can do its own job: the raw tables and the ledger.
    assert not refused(ran, "loader", f"select count(*) from {RAW[0]}")
    assert not refused(ran, "loader", "select count(*) from audit.load_batches")

    # The transformer (dbt) never sees personal data, and cannot write the raw layer or publications.
    for statement in (
        *(f"select * from {r} limit 1" for r in RESTRICTED),
        f"delete from {RAW[0]}",
        f"insert into {PUBLISHED} select * from {PUBLISHED}",
        "select * from audit.quarantine limit 1",
        "update audit.load_batches set status = 'failed'",
    ):
        assert refused(ran, "transformer", statement), statement
    assert not refused(ran, "transformer", f"select count(*) from {RAW[0]}")
    # It reads the ledger (incremental facts take in the batches since their last build).
    assert not refused(ran, "transformer", "select max(batch_id) from audit.load_batches")


def test_a_role_with_a_password_logs_in_as_itself(warehouse, monkeypatch):
    from complaints_warehouse.settings import load_settings

    monkeypatch.setenv("WAREHOUSE_LOADER_PASSWORD", "a-test-password-not-a-secret")
    with_password = database.resolve(load_settings())  # the settings are read once: read them again
    assert with_password.logins.password("loader") == "a-test-password-not-a-secret"
    assert "a-test-password" not in repr(with_password) + repr(load_settings())
    bootstrap(with_password)
    as_loader = roles.as_role(with_password, "loader")
    assert (as_loader.user, as_loader.role) == ("loader", None)
    with database.connect(as_loader) as conn:
        assert conn.execute("select session_user, current_user").fetchone() == ("loader", "loader")
    # Without the password the owner's session switches to the role instead.
    assert warehouse.logins.password("loader") is None
    with database.connect(roles.as_role(warehouse, "loader")) as conn:
        assert conn.execute("select current_user").fetchone() == ("loader",)


def test_two_warehouses_on_one_server_keep_their_roles_apart(settings, monkeypatch):
    """With a prefix per warehouse, one warehouse's BI login cannot read the other's marts."""
    targets = {}
    for prefix in ("wa_", "wb_"):
        monkeypatch.setenv("WAREHOUSE_ROLE_PREFIX", prefix)
        monkeypatch.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_{prefix}{uuid.uuid4().hex[:8]}")
        from complaints_warehouse.settings import load_settings

        target = pipeline.prepare(load_settings())
        with database.connect(roles.as_role(target, "transformer")) as conn:
            conn.execute("create table marts.figures as select 1 as n")
        targets[prefix] = target
    assert not refused(targets["wa_"], "bi_reader", "select * from marts.figures")
    # wa_'s BI login on wb_'s database: refused.
    wa_on_wb = dataclasses.replace(targets["wb_"], logins=targets["wa_"].logins)
    assert refused(wa_on_wb, "bi_reader", "select * from marts.figures")
    with database.connect(targets["wb_"]) as conn:
        assert conn.execute(
            "select pg_get_userbyid(relowner) from pg_class where relname = 'figures'"
        ).fetchone() == ("wb_transformer",)


def test_a_malformed_role_prefix_is_refused(monkeypatch):
    from complaints_warehouse.settings import SettingsError, load_settings

    monkeypatch.setenv("WAREHOUSE_ROLE_PREFIX", "x; drop role postgres; --")
    with pytest.raises(SettingsError, match="WAREHOUSE_ROLE_PREFIX"):
        load_settings()
