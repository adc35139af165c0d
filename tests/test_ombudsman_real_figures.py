"""The Ombudsman's real published figures of councils outside the bundled sample, reproduced by the warehouse.

Every figure below was published by the Local Government and Social Care Ombudsman in its annual review
letters and is quoted, with its source beside it, from the council's own committee papers or web pages, or a
newspaper, that report the letter: the Ombudsman's own letters and map are not in the corpora the session
that wrote this could read (it searched them; see docs/ombudsman-per-100k.md). Nothing is invented or
rounded: a column the source does not give is left empty. Populations are the bundled ONS estimates, one
row per edition (ingestion/reference/data/SOURCES.md).

17 council-years, five authority types, four years (2021/22 to 2024/25). The per-100,000 rule
(docs/ombudsman-per-100k.md) is what these figures establish: Buckinghamshire 2024/25 (50 upheld, published
8.8) is reproduced by the ONS mid-2023 estimate (566,694; 8.8) and by neither mid-2022 (560,409: 8.9) nor
mid-2024 (578,772: 8.6); Buckinghamshire 2023/24 (31, 5.5) and Warwickshire 2023/24 (14, 2.3) by mid-2022
as first published (560,409 and 607,604), the edition available when the 2023/24 letters came out, not its
revision of 15 July 2024. The regional figures of tests/test_ombudsman_population_rule.py pin 2023/24 to
mid-2022 rather than mid-2023.
"""

from __future__ import annotations

import csv
import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from complaints_warehouse import load, transform
from complaints_warehouse.settings import PROJECT_DIR

pytestmark = pytest.mark.slow

REFERENCE_DIR = PROJECT_DIR / "ingestion" / "reference" / "data"
BUCKS_2324 = (
    "https://buckinghamshire.gov.uk/your-council/contact-and-complaints/feedback-compliments-and-complaints-"
    "policy/compliments-complaints-annual-update-2023-24/ombudsman-annual-review"
)
BUCKS_2324_NEWS = "https://bucksfreepress.co.uk/news/24660626.79-ombudsman-complaints-bucks-council-upheld"
BUCKS_2223 = (
    "https://buckinghamshire.gov.uk/your-council/contact-and-complaints/feedback-compliments-and-complaints-"
    "policy/compliments-complaints-annual-update-2022-23/ombudsman-annual-review"
)
BUCKS_BENCHMARK_2324 = (
    "https://buckinghamshire.gov.uk/your-council/contact-and-complaints/feedback-compliments-and-complaints-"
    "policy/compliments-complaints-annual-update-2023-24/lgsco-complaints-context-and-benchmarking"
)
BUCKS_2425 = (
    "https://www.buckinghamshire.gov.uk/your-council/contact-and-complaints/feedback-compliments-and-"
    "complaints-policy/compliments-complaints-annual-update-2024-25/ombudsman-annual-review"
)
BUCKS_BENCHMARK_2425 = (
    "https://www.buckinghamshire.gov.uk/your-council/contact-and-complaints/feedback-compliments-and-"
    "complaints-policy/compliments-complaints-annual-update-2024-25/complaints-context-and-benchmarking"
)
BUCKS_2122_NEWS = (
    "https://www.bucksfreepress.co.uk/news/21635334.watchdog-receives-100-complaints-buckinghamshire-council/"
)
WARWICKSHIRE_2324 = "https://democracy.warwickshire.gov.uk/ieIssueDetails.aspx?IId=19514&PlanId=0&Opt=3"
RUNNYMEDE_2223 = "https://democracy.runnymede.gov.uk/mgAi.aspx?ID=4203"
WEST_DEVON_2122 = "https://mg.swdevon.gov.uk/documents/s29344/Ombudsman%20Annual%20Review%20Letter.html?CT=2"
COTSWOLD_2324 = "https://meetings.cotswold.gov.uk/ieIssueDetails.aspx?IId=5438&PlanId=0&Opt=3"
COTSWOLD_2223 = "https://meetings.cotswold.gov.uk/ieIssueDetails.aspx?IId=4783&Opt=3&PlanId=0"
HAMMERSMITH_2223 = "https://democracy.lbhf.gov.uk/mgAi.aspx?ID=69231"
BURY_2223 = "https://councildecisions.bury.gov.uk/mgAi.aspx?ID=17533"
BROMSGROVE_2223 = "https://moderngovwebpublic.bromsgrove.gov.uk/mgAi.aspx?ID=36361"

HEADER = [
    "Authority",
    "Authority type",
    "Year",
    "Detailed investigations",
    "Upheld",
    "Uphold rate (%)",
    "Average uphold rate (%)",
    "Compliance outcomes",
    "Compliance rate (%)",
    "Satisfactory remedy provided by authority",
    "Satisfactory remedy rate (%)",
    "Upheld decisions per 100,000 residents",
    "Average upheld decisions per 100,000 residents",
]
#: (row as published, source). Empty: the source does not give that figure.
PUBLISHED = [
    # "upheld rate of 79% ... matching the average"; "31 decisions ... 39 comprehensive investigations";
    # "5.5 upheld decisions per 100,000 residents. The average for comparable authorities is 4.6";
    # "28 compliance outcomes ... 100% compliant"; "resolved 6% (2 cases)".
    (
        [
            "Buckinghamshire Council",
            "Unitary authority",
            "2023-24",
            "39",
            "31",
            "79",
            "79",
            "28",
            "100",
            "2",
            "6",
        ]
        + ["5.5", "4.6"],
        (BUCKS_2324, BUCKS_2324_NEWS),
    ),
    # "14 upheld complaints ... upheld rate of 67% ... average for county councils (85%)";
    # "2.3 per 100,000 residents ... average for county councils (4.5 per 100,000 residents)".
    (
        ["Warwickshire County Council", "County council", "2023-24", "", "14", "67", "85", "", "", "", ""]
        + ["2.3", "4.5"],
        (WARWICKSHIRE_2324,),
    ),
    # "31 as opposed to 29"; "rate of cases upheld ... is 79%. ... average of 72%"; "39 detailed investigations".
    (
        ["Buckinghamshire Council", "Unitary authority", "2022-23", "39", "31", "79", "72", "", "", "", ""]
        + ["", ""],
        (BUCKS_2223,),
    ),
    # "found the council to have acted unjustly on 29 occasions last year" (2021/22).
    (
        ["Buckinghamshire Council", "Unitary authority", "2021-22", "", "29", "", "", "", "", "", ""]
        + ["", ""],
        (BUCKS_2122_NEWS,),
    ),
    # 2024/25: "57 comprehensive investigations ... 8.8 upheld decisions per 100,000 residents. The average for
    # comparable authorities is 5.3"; benchmarking table: 50 upheld decisions, satisfactory remedy 12%.
    (
        ["Buckinghamshire Council", "Unitary authority", "2024-25", "57", "50", "", "", "", "", "", "12"]
        + ["8.8", "5.3"],
        (BUCKS_2425, BUCKS_BENCHMARK_2425),
    ),
    # "the three cases which the Ombudsman investigated in detail were all upheld";
    # "satisfactory remedy was 67% (2 out of 3)".
    (
        ["Runnymede Borough Council", "District council", "2022-23", "3", "3", "", "", "", "", "2", "67"]
        + ["", ""],
        (RUNNYMEDE_2223,),
    ),
    # "only one was accepted and put forward for investigation ... this complaint was upheld" (2021/22).
    (
        ["West Devon Borough Council", "District council", "2021-22", "1", "1", "", "", "", "", "", ""]
        + ["", ""],
        (WEST_DEVON_2122,),
    ),
    # "ten complaints received by the Ombudsman, of which one was upheld" (2023/24).
    (
        ["Cotswold District Council", "District council", "2023-24", "", "1", "", "", "", "", "", ""]
        + ["", ""],
        (COTSWOLD_2324,),
    ),
    # Benchmarking table of the Ombudsman's published figures: Cornwall 33 upheld, satisfactory remedy 18%;
    # Birmingham 115 upheld, 8%.
    (
        ["Cornwall Council", "Unitary authority", "2023-24", "", "33", "", "", "", "", "", "18"] + ["", ""],
        (BUCKS_BENCHMARK_2324,),
    ),
    (
        ["Birmingham City Council", "Metropolitan borough", "2023-24", "", "115", "", "", "", "", "", "8"]
        + ["", ""],
        (BUCKS_BENCHMARK_2324,),
    ),
    # A London borough: "Of the 28 requests investigated by the Ombudsman with decisions issued, 18 of them
    # were upheld (representing 64%)" (annual review letter 2022/23, received July 2023).
    (
        ["London Borough of Hammersmith & Fulham", "London borough", "2022-23", "28", "18", "64"]
        + ["", "", "", "", "", "", ""],
        (HAMMERSMITH_2223,),
    ),
    # "The number of complaints upheld were 22 in 2022/23".
    (
        ["Bury Council", "Metropolitan borough", "2022-23", "", "22", "", "", "", "", "", "", "", ""],
        (BURY_2223,),
    ),
    # "for that year [ending 31st March 2023] ... One complaint was upheld".
    (
        [
            "Bromsgrove District Council",
            "District council",
            "2022-23",
            "",
            "1",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        (BROMSGROVE_2223,),
    ),
    # 2022/23: "Of the 10 complaints received by the Ombudsman, one complaint was investigated, which was
    # 'upheld'".
    (
        [
            "Cotswold District Council",
            "District council",
            "2022-23",
            "1",
            "1",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        (COTSWOLD_2223,),
    ),
    # 2024/25 benchmarking table, "upheld and remedy rates published by the LGSCO": Birmingham 94 upheld,
    # satisfactory remedy 5%; Liverpool 23, 9%; Bath & NE Somerset 7, 0%.
    (
        ["Birmingham City Council", "Metropolitan borough", "2024-25", "", "94", "", "", "", "", "", "5"]
        + ["", ""],
        (BUCKS_BENCHMARK_2425,),
    ),
    (
        ["Liverpool City Council", "Metropolitan borough", "2024-25", "", "23", "", "", "", "", "", "9"]
        + ["", ""],
        (BUCKS_BENCHMARK_2425,),
    ),
    (
        ["Bath and North East Somerset Council", "Unitary authority", "2024-25", "", "7", "", "", "", "", ""]
        + ["0", "", ""],
        (BUCKS_BENCHMARK_2425,),
    ),
]


def _write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "annual_statistics.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(row for row, _ in PUBLISHED)


def _build(settings, warehouse, select: str) -> None:
    """The Ombudsman models and their tests only (no case-system data here): tests whose every parent is
    selected."""
    args = ["build", "--select", select, "--indirect-selection", "cautious"]
    result = transform.run_dbt(settings, warehouse, args, echo=lambda line: None)
    assert result.success, result.failures


def test_the_ombudsmans_real_figures_are_reproduced_and_what_cannot_be_is_flagged(
    tmp_path, settings, warehouse, sql, monkeypatch
):
    assert len(PUBLISHED) >= 10 and all(sources for _, sources in PUBLISHED)
    load.load_source(warehouse, "reference", REFERENCE_DIR)
    _write(tmp_path / "ombudsman")
    statistics = {r.table: r for r in load.load_source(warehouse, "ombudsman", tmp_path / "ombudsman")}[
        "annual_statistics"
    ]
    # Every council-year matched to an authority that existed then: nothing quarantined.
    assert (statistics.rows_loaded, statistics.rows_quarantined) == (len(PUBLISHED), 0)
    _build(settings, warehouse, "+ombudsman_benchmark +dim_authority")

    facts = {
        key: rest
        for key, *rest in sql(
            "select authority_year_key, similar_authority_group, population_mid_year, population, "
            "published_upheld_per_100k, recomputed_upheld_per_100k, upheld_per_100k_check, "
            "published_uphold_rate_pct, recomputed_uphold_rate_pct, published_satisfactory_remedy_rate_pct, "
            "recomputed_satisfactory_remedy_rate_pct, has_rate_mismatch, population_published_on "
            "from marts.fct_ombudsman_annual_statistics"
        )
    }
    assert len(facts) == len(PUBLISHED) >= 16
    # All five of the Ombudsman's groups, four years.
    assert {group for group, *_ in facts.values()} == {
        "Unitary",
        "County",
        "District",
        "Metropolitan Borough",
        "London Borough",
    }
    assert {key.split()[1] for key in facts} == {"2021/22", "2022/23", "2023/24", "2024/25"}

    # Upheld per 100,000: the estimate available when the Ombudsman published reproduces every published
    # figure: mid-2022 as first published (26 March 2024, not its revision of 15 July 2024: 560,688) for
    # 2023/24, mid-2023 (15 July 2024) for 2024/25.
    day = datetime.date
    assert facts["E06000060 2023/24"][1:6] + facts["E06000060 2023/24"][11:] == [
        2022,
        560409,
        Decimal("5.5"),
        Decimal("5.5"),
        "matches",
        day(2024, 3, 26),
    ]
    assert facts["E10000031 2023/24"][1:6] == [2022, 607604, Decimal("2.3"), Decimal("2.3"), "matches"]
    assert facts["E06000060 2024/25"][1:6] + facts["E06000060 2024/25"][11:] == [
        2023,
        566694,
        Decimal("8.8"),
        Decimal("8.8"),
        "matches",
        day(2024, 7, 15),
    ]
    # Every council-year has its population now, older years from the editions of their own boundaries.
    assert not [key for key, row in facts.items() if row[5] == "no population"]
    # Not published, but recomputed for the council to see, from the estimate the rule picks.
    assert facts["E06000060 2022/23"][1:6] == [2021, 555257, None, Decimal("5.6"), "not published"]
    assert facts["E06000060 2021/22"][1:6] == [2020, 547060, None, Decimal("5.3"), "not published"]
    assert facts["E06000052 2023/24"][3:6] == [None, Decimal("5.7"), "not published"]  # 33 / 575,413
    assert facts["E08000025 2023/24"][3:6] == [None, Decimal("9.9"), "not published"]  # 115 / 1,157,603
    assert facts["E08000025 2024/25"][1:6] == [2023, 1166049, None, Decimal("8.1"), "not published"]
    assert facts["E09000013 2022/23"][1:6] == [2021, 183295, None, Decimal("9.8"), "not published"]
    assert facts["E07000047 2021/22"][1:6] == [2020, 56139, None, Decimal("1.8"), "not published"]

    # Uphold and satisfactory-remedy rates recomputed from the counts equal the published ones.
    assert facts["E06000060 2023/24"][6:10] == [79, 79, 6, 6]
    assert facts["E06000060 2022/23"][6:8] == [79, 79]
    assert facts["E09000013 2022/23"][6:8] == [64, 64]
    assert facts["E07000212 2022/23"][7:10] == [100, 67, 67]
    assert facts["E07000047 2021/22"][7] == 100
    assert facts["E07000079 2022/23"][7] == 100
    assert not any(row[10] for row in facts.values())  # no published rate differs from its counts

    # The benchmark shows the checks; nothing is left unverifiable for Buckinghamshire.
    assert sql(
        "select benchmark_key, council_value, similar_authority_value, comparison, recomputation "
        "from marts.ombudsman_benchmark where ons_code = 'E06000060' and measure = 'upheld_per_100k' "
        "order by 1"
    ) == [
        ("E06000060 2021/22|upheld_per_100k", None, None, None, "not published"),
        ("E06000060 2022/23|upheld_per_100k", None, None, None, "not published"),
        ("E06000060 2023/24|upheld_per_100k", Decimal("5.5"), Decimal("4.6"), "worse", "matches"),
        ("E06000060 2024/25|upheld_per_100k", Decimal("8.8"), Decimal("5.3"), "worse", "matches"),
    ]

    # The alternative rule (the mid-year the financial year starts, latest edition) is a setting: it does
    # not reproduce the published 2024/25 figure (mid-2024, 578,772: 8.6, not 8.8).
    monkeypatch.setenv("OMBUDSMAN_POPULATION_MID_YEAR", "financial_year_start")
    _build(settings, warehouse, "fct_ombudsman_annual_statistics")
    assert sql(
        "select authority_year_key, population_mid_year, population, recomputed_upheld_per_100k, "
        "upheld_per_100k_check from marts.fct_ombudsman_annual_statistics where authority_year_key in "
        "('E06000060 2023/24', 'E06000060 2024/25') order by 1"
    ) == [
        ("E06000060 2023/24", 2023, 566694, Decimal("5.5"), "matches"),
        ("E06000060 2024/25", 2024, 578772, Decimal("8.6"), "differs"),
    ]
