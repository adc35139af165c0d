"""The worked figures of DOMAIN.md come out of the whole pipeline exactly as the Ombudsman published them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from complaints_warehouse import pipeline

pytestmark = pytest.mark.slow

# DOMAIN.md, "Worked figures from the seeds": (uphold, satisfactory remedy, compliance, per 100k) as
# published; None where the Ombudsman published no figure.
WORKED = {
    "E10000025 2023/24": (92, 9, 100, Decimal("4.6")),  # Oxfordshire CC: 34 of 37, 3 of 34
    "E10000034 2022/23": (92, 0, 100, None),  # Worcestershire CC: 22 of 24, 0 of 22, 19 of 19
    "E10000034 2021/22": (63, 17, 100, None),  # Worcestershire CC: 12 of 19
    "E10000030 2022/23": (84, 9, None, None),  # Surrey CC: rates only
    "E07000178 2019/20": (None, None, None, None),  # Oxford City: no detailed investigations
}


@pytest.fixture
def built(after_sample_night, warehouse):
    """After a run of the bundled sample (this test's own copy of the session's ``sample_night``)."""
    return after_sample_night.summary


def test_worked_figures_come_out_as_published_and_recomputed(built, sql):
    rows = sql(
        "select authority_year_key, published_uphold_rate_pct, published_satisfactory_remedy_rate_pct, "
        "published_compliance_rate_pct, published_upheld_per_100k from marts.fct_ombudsman_annual_statistics"
    )
    assert {key: tuple(values) for key, *values in rows} == WORKED

    recomputed = dict(
        (key, (uphold, remedy, per_100k))
        for key, uphold, remedy, per_100k in sql(
            "select authority_year_key, recomputed_uphold_rate_pct, recomputed_satisfactory_remedy_rate_pct, "
            "recomputed_upheld_per_100k from marts.fct_ombudsman_annual_statistics "
            "where detailed_investigations is not null"
        )
    )
    # Rates recomputed from the counts, rounded half away from zero, equal the published ones.
    assert recomputed["E10000025 2023/24"] == (92, 9, Decimal("4.6"))
    assert recomputed["E10000034 2022/23"][:2] == (92, 0)
    assert recomputed["E10000034 2021/22"][:2] == (63, 17)
    assert sql("select count(*) from marts.fct_ombudsman_annual_statistics where has_rate_mismatch") == [(0,)]


def test_no_detailed_investigations_is_no_rate_not_zero(built, sql):
    assert sql(
        "select detailed_investigations, published_uphold_rate_pct, recomputed_uphold_rate_pct, "
        "has_detailed_investigations, published_compliance_rate_pct "
        "from marts.fct_ombudsman_annual_statistics where authority_year_key = 'E07000178 2019/20'"
    ) == [(0, None, None, False, None)]


def test_similar_authority_averages_and_caveats_sit_beside_the_figures(built, sql):
    assert sql(
        "select authority_name, published_authority_name, similar_authority_group, "
        "similar_authority_uphold_rate_pct, similar_authority_satisfactory_remedy_rate_pct, "
        "similar_authority_upheld_per_100k, population, caveat like 'From 2022/23%' "
        "from marts.fct_ombudsman_annual_statistics where authority_year_key = 'E10000025 2023/24'"
    ) == [
        (
            "Oxfordshire County Council",
            "Oxfordshire County Council",
            "County",
            85,
            7,
            Decimal("4.5"),
            738276,  # ONS mid-2022 (the estimate available when 2023/24 was published)
            True,
        )
    ]


def test_reference_dimensions_and_decisions(built, sql):
    assert sql(
        "select ons_code, authority_type, is_current from marts.dim_authority "
        "where ons_code in ('E10000006', 'E06000063', 'E06000064', 'E07000178', 'E10000025') order by 1"
    ) == [
        ("E06000063", "Unitary", True),
        ("E06000064", "Unitary", True),
        ("E07000178", "District", True),
        ("E10000006", "County", False),
        ("E10000025", "County", True),
    ]
    # Christmas 2023: Friday 22nd working, then weekend and two bank holidays, Wednesday 27th working.
    assert sql(
        "select date_day::text, financial_year, financial_quarter, is_working_day, working_day_index "
        "from marts.dim_date where date_day between '2023-12-22' and '2023-12-27' order by 1"
    ) == [
        ("2023-12-22", "2023/24", 3, True, 2459),
        ("2023-12-23", "2023/24", 3, False, 2459),
        ("2023-12-24", "2023/24", 3, False, 2459),
        ("2023-12-25", "2023/24", 3, False, 2459),
        ("2023-12-26", "2023/24", 3, False, 2459),
        ("2023-12-27", "2023/24", 3, True, 2460),
    ]
    assert sql(
        "select financial_year from marts.dim_date where date_day in ('2024-03-31', '2024-04-01')"
    ) == [
        ("2023/24",),
        ("2024/25",),
    ]
    # Published decisions and the council's own spreadsheets, matched by normalised reference.
    assert sql(
        "select reference, ons_code, is_published, is_in_council_cases, is_remedy_late "
        "from marts.fct_ombudsman_decisions where ons_code = 'E10000025' order by 1"
    ) == [
        ("22 001 239", "E10000025", True, True, True),
        ("23 001 447", "E10000025", True, True, None),
        ("23 011 003", "E10000025", False, True, False),
    ]
    # The decision under an unknown authority name is listed in the quarantine, with its reason.
    assert sql(
        "select raw_row->>'authority_name', reasons[1] from audit.quarantine where table_name = 'decisions'"
    ) == [
        (
            "Oxon County Council",
            "authority not in the reference list of authorities and their name variants "
            "(ingestion/reference/data/authority_names.csv)",
        )
    ]


def test_a_published_rate_that_disagrees_with_its_counts_is_flagged_and_gates_only_the_ombudsman(
    tmp_path, monkeypatch, warehouse
):
    """A published figure is kept as published; its recomputation sits beside it and the mismatch shows.
    It fails the Ombudsman's own suite (the benchmark's gate), never the council's BMMR publication."""
    from complaints_warehouse import publish, validate
    from complaints_warehouse.settings import PROJECT_DIR, load_settings
    from complaints_warehouse.warehouse import database

    sample = (PROJECT_DIR / "ingestion" / "ombudsman" / "sample" / "annual_statistics.csv").read_text()
    # Oxfordshire 2023/24 as if published with an uphold rate of 90 % (34 of 37 is 92 %).
    (tmp_path / "annual_statistics.csv").write_text(sample.replace(",37,34,3,92,", ",37,34,3,90,"))
    monkeypatch.setenv("OMBUDSMAN_DATA_DIR", str(tmp_path))
    settings = load_settings()
    summary = pipeline.run_all(settings, echo=lambda line: None)
    assert summary["validation"]["ombudsman_gate"] == "failed"
    assert summary["validation"]["failed"] == []
    assert summary["publication"]["status"] != "refused"
    assert "Ombudsman benchmark NOT validated (2 of the Ombudsman's own" in pipeline.one_line(summary)
    with database.connect(warehouse) as conn:
        flagged = conn.execute(
            "select authority_year_key, published_uphold_rate_pct, recomputed_uphold_rate_pct "
            "from marts.fct_ombudsman_annual_statistics where has_rate_mismatch"
        ).fetchall()
        assert publish.failed_validation(conn, summary["run_id"]) is None
        gate = validate.ombudsman_gate_failures(conn, summary["run_id"])
        recomputation = conn.execute(
            "select recomputation from marts.ombudsman_benchmark "
            "where benchmark_key = 'E10000025 2023/24|uphold_rate_pct'"
        ).fetchall()
    assert flagged == [("E10000025 2023/24", 90, 92)]
    assert gate == [
        (
            "ombudsman_annual_statistics_fact",
            "Every published rate (uphold, satisfactory remedy, upheld per 100,000) equals its recomputation",
        ),
        (
            "ombudsman_statistics",
            "The published uphold rate equals upheld / detailed investigations, rounded to whole percent",
        ),
    ]
    assert recomputation == [("differs",)]
