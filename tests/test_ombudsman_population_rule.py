"""Which ONS estimate the Ombudsman divides by, established from its published regional figures (no database).

The Ombudsman's Review of Local Government Complaints gives, per region, complaints received and upheld
decisions per 100,000 residents. A region's population is the sum of its lower-tier councils (unitaries,
districts, metropolitan and London boroughs; counties overlap their districts), so the bundled council
estimates (ingestion/reference/data/population.csv) recompute them. They fit the rule the warehouse
applies by default (docs/ombudsman-per-100k.md): the mid-year before the financial year starts, in the
latest edition published before 1 July after the year ends (2023/24: mid-2022; 2024/25: mid-2023), and
not the mid-year inside the financial year.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from complaints_warehouse.settings import PROJECT_DIR

DATA = PROJECT_DIR / "ingestion" / "reference" / "data"
SOUTH_WEST_2324 = (
    "https://www.themoorlander.co.uk/news/home/1562334/south-west-councils-face-high-volume-of-complaints-"
    "reports-ombudsman.html"
)
LONDON_2324 = (
    "https://london-tv.co.uk/capital-residents-most-likely-to-speak-up-about-poor-service-and-have-their-"
    "complaints-upheld"
)
SOUTH_WEST_2425 = (
    "https://www.theforestreview.co.uk/news/south-west-complaints-rise-as-education-issues-drive-ombudsman-"
    "caseload-813403"
)
#: (financial year start, region, what is counted, count, published per 100,000, source), quoted:
#: 2023/24 South West "1,795 complaints and enquiries ... equates to 31.1 complaints per 100,000
#: residents"; "a total of 391 upheld decisions, translating to 6.8 upheld decisions per 100,000
#: residents"; London "the 4,187 complaints and enquiries received equated to 47.2 complaints received per
#: 100,000 residents"; 2024/25 (review "published on Wednesday, July 16" 2025) South West "The 1,934
#: complaints received equated to 33.3 complaints per 100,000 residents".
PUBLISHED = [
    (2023, "South West", "complaints and enquiries received", 1795, Decimal("31.1"), SOUTH_WEST_2324),
    (2023, "South West", "upheld decisions", 391, Decimal("6.8"), SOUTH_WEST_2324),
    (2023, "London", "complaints and enquiries received", 4187, Decimal("47.2"), LONDON_2324),
    (2024, "South West", "complaints and enquiries received", 1934, Decimal("33.3"), SOUTH_WEST_2425),
]
FIRST_PUBLISHED_MID_2022 = "2024-03-26"
REVISED_MID_2022 = "2024-07-15"  # the mid-2023 edition, out after the Ombudsman's 2023/24 figures
MID_2023 = "2024-07-15"


def _editions(region: str, mid_year: int) -> dict[str, int]:
    """The region's population at ``mid_year`` in each bundled edition (publication day -> population)."""
    with (DATA / "authorities.csv").open(newline="", encoding="utf-8") as handle:
        lower_tier = {
            r["ons_code"]
            for r in csv.DictReader(handle)
            if r["region"] == region and not r["ons_code"].startswith("E10")
        }
    totals: dict[str, int] = {}
    with (DATA / "population.csv").open(newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            if r["ons_code"] in lower_tier and int(r["mid_year"]) == mid_year:
                totals[r["published_on"]] = totals.get(r["published_on"], 0) + int(r["population"])
    return totals


def _publication_rule(region: str, financial_year_start: int) -> int:
    """The default rule, as the dbt macros apply it: mid-year before the year starts, latest edition out
    before 1 July after the year ends."""
    cutoff = dt.date(financial_year_start + 1, 7, 1).isoformat()
    editions = _editions(region, financial_year_start - 1)
    return editions[max(day for day in editions if day < cutoff)]


def _region_population(region: str, mid_year: int, published_on: str) -> int:
    return _editions(region, mid_year)[published_on]


def _per_100k(count: int, population: int) -> Decimal:
    return (Decimal(100000 * count) / population).quantize(Decimal("0.1"), ROUND_HALF_UP)


def test_region_sums_are_the_ons_region_totals():
    # The same tables' region rows: South West 5,764,881 and London 8,866,180 at mid-2022 (MYE5, 26 March
    # 2024); 5,811,259 and 8,945,309 at mid-2023 (MYE2, 15 July 2024).
    assert _region_population("South West", 2022, FIRST_PUBLISHED_MID_2022) == 5764881
    assert _region_population("London", 2022, FIRST_PUBLISHED_MID_2022) == 8866180
    assert _region_population("South West", 2023, MID_2023) == 5811259
    assert _region_population("London", 2023, MID_2023) == 8945309


@pytest.mark.parametrize(("year", "region", "what", "count", "published", "source"), PUBLISHED)
def test_the_ombudsmans_regional_figures_divide_by_the_estimate_the_rule_picks(
    year, region, what, count, published, source
):
    assert source.startswith("https://")
    assert _per_100k(count, _publication_rule(region, year)) == published, what
    # Not the mid-year inside the financial year, in any edition.
    for population in _editions(region, year).values():
        assert _per_100k(count, population) != published, what


def test_the_rule_picks_mid_2022_as_first_published_for_2023_24_and_mid_2023_for_2024_25():
    assert _publication_rule("London", 2023) == _region_population("London", 2022, FIRST_PUBLISHED_MID_2022)
    assert _publication_rule("London", 2024) == _region_population("London", 2023, MID_2023)
    # The revision of mid-2022 published with mid-2023 gives the same 2023/24 figures: the regions cannot
    # tell the two editions apart; the rule takes the one out before the Ombudsman's figures.
    for year, region, what, count, published, _ in PUBLISHED:
        if year == 2023:
            assert _per_100k(count, _region_population(region, 2022, REVISED_MID_2022)) == published, what


def test_a_dropped_in_ons_file_carries_its_edition_day_from_its_name(tmp_path):
    from ingestion.reference.population import mid_year_of, normalise_mid_year_estimates

    dropped = tmp_path / "mid_year_estimates_2023_2024-07-15.csv"
    dropped.write_text("Code,Name,Geography,All ages\nE10000025,Oxfordshire,County,750230\n")
    assert mid_year_of(dropped) == 2023
    with normalise_mid_year_estimates(dropped, 2023, tmp_path / "out").open(newline="") as handle:
        assert list(csv.DictReader(handle)) == [
            {
                "ons_code": "E10000025",
                "mid_year": "2023",
                "population": "750230",
                "published_on": "2024-07-15",
                "source": "ONS mid_year_estimates_2023_2024-07-15.csv",
            }
        ]
