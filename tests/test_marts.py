"""The star schema and the BMMR: the marts reproduce the simulated case system's own truth, the monthly
report adds up from the facts, and BI logins read the marts and nothing else. All real: a simulated
council loaded through the SQL adapter, ``dbt build`` (with its unit tests), PostgreSQL roles."""

from __future__ import annotations

from collections import Counter
from datetime import date

import psycopg
import pytest

from case_system_simulator import truth
from complaints_warehouse import pipeline, transform
from complaints_warehouse.settings import load_settings
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.bootstrap import bootstrap

QUIET = {"echo": lambda line: None}
COUNCIL_STAGES = ("0", "1", "2", "3")


@pytest.fixture
def built(simulated_case_system, settings, warehouse):
    """The simulated council a few days into a new financial year (a reorganisation happens on
    1 April), loaded and built."""
    simulated_case_system.advance(5)
    pipeline.step_load_case_systems(settings, warehouse, **QUIET)
    transform.build(settings, warehouse, **QUIET)
    return simulated_case_system


def test_marts_match_the_simulators_truth(built, sql):
    with psycopg.connect(built.conninfo) as conn:
        received = truth.monthly_received(conn)
        closed = truth.monthly_closed(conn)
        stages = truth.stages_within_timescale(conn)
        remedies = truth.remedies(conn)
        payments = truth.payments(conn)

    # Received per month and procedure, closed per month: from the BMMR's month rows.
    received_by_procedure = Counter()
    for (month, procedure, _kind), n in received.items():
        received_by_procedure[(month, procedure)] += n
    bmmr_received = {
        (m, p): n
        for m, p, n in sql(
            "select to_char(report_month, 'YYYY-MM'), procedure_code, sum(representations_received)::int "
            "from marts.bmmr_monthly where period = 'month' group by 1, 2 having sum(representations_received) > 0"
        )
    }
    assert bmmr_received == dict(received_by_procedure)
    bmmr_closed = dict(
        sql(
            "select to_char(report_month, 'YYYY-MM'), sum(representations_closed)::int from marts.bmmr_monthly "
            "where period = 'month' group by 1 having sum(representations_closed) > 0"
        )
    )
    assert bmmr_closed == closed

    # Stages responded and within timescale (working days, extensions, suspensions): the fact and the BMMR.
    fact_stages = {
        stage: (responded, within)
        for stage, responded, within in sql(
            "select stage_code, count(*) filter (where is_responded)::int, "
            "count(*) filter (where is_within_timescale)::int from marts.fct_complaint_stages "
            "where stage_code <> 'ombudsman' and is_responded group by 1"
        )
    }
    assert fact_stages == stages
    assert set(stages) >= {"0", "1", "2"}
    bmmr_stages = sql(
        "select "
        + ", ".join(
            f"sum(stage_{s}_responded)::int, sum(stage_{s}_within_timescale)::int" for s in COUNCIL_STAGES
        )
        + " from marts.bmmr_monthly where period = 'month'"
    )[0]
    for i, stage in enumerate(COUNCIL_STAGES):
        assert (bmmr_stages[2 * i], bmmr_stages[2 * i + 1]) == stages.get(stage, (0, 0)), stage
    # The Ombudsman's stage is never within or outside a council timescale.
    assert sql(
        "select count(*) from marts.fct_complaint_stages where stage_code = 'ombudsman' and is_within_timescale is not null"
    ) == [(0,)]

    # Remedies (every type; amount of the financial ones) and payments.
    assert sql("select count(*), coalesce(sum(amount_gbp), 0) from marts.fct_remedies") == [remedies]
    assert sql("select count(*), coalesce(sum(amount_gbp), 0) from marts.fct_payments") == [payments]
    assert sql(
        "select sum(payments)::int, sum(payments_gbp) from marts.bmmr_monthly where period = 'month'"
    ) == [payments]
    assert sql("select sum(financial_remedies_gbp) from marts.bmmr_monthly where period = 'month'") == sql(
        "select coalesce(sum(amount_gbp), 0) from marts.fct_remedies where is_financial"
    )

    # Type 2 service areas: the reorganisation of 1 April made a second version of one area, and each
    # case links to the version in force when it was received.
    assert sql(
        "select count(*) from marts.dim_service_area group by service_area_durable_key having count(*) > 1"
    ) == [(2,)]
    assert sql(
        "select count(*) from marts.fct_representations f join marts.dim_service_area d "
        "using (service_area_key) where f.received_date < d.valid_from "
        "or f.received_date > coalesce(d.valid_to, 'infinity')"
    ) == [(0,)]


def test_bmmr_monthly_adds_up_from_the_facts(built, sql):
    month = date(2023, 11, 1)
    # An independent recomputation of the month, straight from the facts.
    expected = {
        (directorate, procedure): row
        for directorate, procedure, *row in sql(
            """
            with segments as (
                select distinct directorate, procedure_code from marts.fct_representations
            )
            select s.directorate, s.procedure_code,
                (select count(*) from marts.fct_representations r where r.directorate = s.directorate
                   and r.procedure_code = s.procedure_code and r.representation_type = 'complaint'
                   and r.received_date >= %(m)s and r.received_date < %(m)s::date + interval '1 month')::int,
                (select count(*) from marts.fct_representations r where r.directorate = s.directorate
                   and r.procedure_code = s.procedure_code and r.representation_type = 'complaint'
                   and r.status = 'closed'
                   and r.closed_date >= %(m)s and r.closed_date < %(m)s::date + interval '1 month')::int,
                (select count(*) from marts.fct_representations r where r.directorate = s.directorate
                   and r.procedure_code = s.procedure_code and r.representation_type = 'compliment'
                   and r.received_date >= %(m)s and r.received_date < %(m)s::date + interval '1 month')::int,
                (select count(*) from marts.fct_complaint_stages t where t.directorate = s.directorate
                   and t.procedure_code = s.procedure_code and t.stage_code = '1'
                   and t.responded_date >= %(m)s and t.responded_date < %(m)s::date + interval '1 month')::int,
                (select count(*) from marts.fct_complaint_stages t where t.directorate = s.directorate
                   and t.procedure_code = s.procedure_code and t.stage_code = '1' and t.is_within_timescale
                   and t.responded_date >= %(m)s and t.responded_date < %(m)s::date + interval '1 month')::int,
                (select count(*) from marts.fct_complaint_stages t where t.directorate = s.directorate
                   and t.procedure_code = s.procedure_code and t.stage_code = '2'
                   and t.opened_date >= %(m)s and t.opened_date < %(m)s::date + interval '1 month')::int,
                (select count(*) from marts.fct_complaint_stages t
                   join marts.dim_outcome o using (outcome_code)
                   where t.directorate = s.directorate and t.procedure_code = s.procedure_code
                   and t.stage_number <= 3 and o.is_upheld
                   and t.responded_date >= %(m)s and t.responded_date < %(m)s::date + interval '1 month')::int,
                (select coalesce(sum(amount_gbp), 0) from marts.fct_remedies f where f.directorate = s.directorate
                   and f.procedure_code = s.procedure_code and f.is_financial
                   and f.agreed_date >= %(m)s and f.agreed_date < %(m)s::date + interval '1 month'),
                (select coalesce(sum(amount_gbp), 0) from marts.fct_payments p where p.directorate = s.directorate
                   and p.procedure_code = s.procedure_code
                   and p.payment_date >= %(m)s and p.payment_date < %(m)s::date + interval '1 month')
            from segments s
            """,
            {"m": month},
        )
    }
    reported = {
        (directorate, procedure): row
        for directorate, procedure, *row in sql(
            "select directorate, procedure_code, complaints_received, complaints_closed, compliments_received, "
            "stage_1_responded, stage_1_within_timescale, stage_2_escalations, outcome_upheld, "
            "financial_remedies_gbp, payments_gbp "
            "from marts.bmmr_monthly where period = 'month' and report_month = %s",
            (month,),
        )
    }
    assert reported == expected
    assert sum(row[0] for row in reported.values()) > 0 and sum(row[3] for row in reported.values()) > 0

    # Percentages are the row's own counts divided, to one decimal place, and empty without a denominator.
    assert sql(
        "select count(*) from marts.bmmr_monthly where stage_1_within_timescale_pct is distinct from "
        "round(100.0 * stage_1_within_timescale / nullif(stage_1_responded, 0), 1) "
        "or escalation_rate_stage_1_to_2_pct is distinct from "
        "round(100.0 * stage_2_escalations / nullif(stage_1_responded, 0), 1)"
    ) == [(0,)]

    # Financial year to date = the sum of its months (April 2023 to March 2024) for every column.
    columns = [
        "complaints_received",
        "complaints_closed",
        "stage_1_responded",
        "stage_1_within_timescale",
        "financial_remedies",
        "financial_remedies_gbp",
        "payments_gbp",
        "ombudsman_decisions",
    ]
    sums = ", ".join(f"sum({c})" for c in columns)
    by_months = sql(
        f"select directorate, procedure_code, {sums} from marts.bmmr_monthly where period = 'month' "
        "and report_month between '2023-04-01' and '2024-03-01' group by 1, 2 order by 1, 2"
    )
    to_date = sql(
        f"select directorate, procedure_code, {sums} from marts.bmmr_monthly "
        "where period = 'financial_year_to_date' and report_month = '2024-03-01' group by 1, 2 order by 1, 2"
    )
    assert to_date == by_months
    # A new financial year starts again from April.
    assert sql(
        "select count(*) from marts.bmmr_monthly y join marts.bmmr_monthly m using (report_month, directorate, procedure_code) "
        "where y.period = 'financial_year_to_date' and m.period = 'month' and report_month = '2024-04-01' "
        "and (y.complaints_received, y.payments_gbp) <> (m.complaints_received, m.payments_gbp)"
    ) == [(0,)]
    # The same month last year is that month's own row twelve months on.
    assert sql(
        "select count(*) from marts.bmmr_monthly l join marts.bmmr_monthly m "
        "on m.report_month = l.report_month - interval '1 year' and (m.directorate, m.procedure_code) = "
        "(l.directorate, l.procedure_code) and m.period = 'month' "
        "where l.period = 'same_month_last_year' and l.report_month = '2024-04-01' "
        "and (l.complaints_received, l.stage_1_responded, l.payments_gbp) <> "
        "(m.complaints_received, m.stage_1_responded, m.payments_gbp)"
    ) == [(0,)]
    assert sql(
        "select sum(complaints_received) from marts.bmmr_monthly "
        "where period = 'same_month_last_year' and report_month = '2024-04-01'"
    ) == sql(
        "select sum(complaints_received) from marts.bmmr_monthly where period = 'month' and report_month = '2023-04-01'"
    )
    assert (
        sql(
            "select sum(complaints_received) from marts.bmmr_monthly where period = 'month' and report_month = '2023-04-01'"
        )[0][0]
        > 0
    )


def test_bi_reader_reads_the_marts_and_nothing_else(after_sample_night, settings, warehouse, monkeypatch):
    # The bundled sample loaded and built (the session's sample_night, copied).
    with database.connect(warehouse) as conn:
        conn.execute("set role bi_reader")
        for mart in ("fct_representations", "fct_complaint_stages", "dim_service_area", "bmmr_monthly"):
            assert conn.execute(f"select count(*) from marts.{mart}").fetchone()[0] >= 0
        conn.rollback()
        for table in (
            "raw_case_system.representations",
            "staging.stg_case_system__representations",
            "intermediate.int_complaint_stages__working_days",
            "audit.load_batches",
            "restricted.complainants",
        ):
            conn.execute("set role bi_reader")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from {table} limit 1")
            conn.rollback()
        # Without a password the role cannot log in; with WAREHOUSE_BI_READER_PASSWORD it can.
        assert conn.execute(
            "select rolcanlogin, rolsuper from pg_roles where rolname = 'bi_reader'"
        ).fetchone() == (
            False,
            False,
        )
    monkeypatch.setenv("WAREHOUSE_BI_READER_PASSWORD", "a-test-only-password")
    bootstrap(database.resolve(load_settings()))  # the settings, read again, now name the password
    with database.connect(warehouse) as conn:
        assert conn.execute("select rolcanlogin from pg_roles where rolname = 'bi_reader'").fetchone() == (
            True,
        )
        assert conn.execute(
            "select count(*) from information_schema.role_table_grants where grantee = 'bi_reader' "
            "and table_schema not in ('marts', 'published')"
        ).fetchone() == (0,)
