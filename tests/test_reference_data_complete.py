"""The bundled reference data covers every English principal council since 2009, from its cited sources."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter

from complaints_warehouse.settings import PROJECT_DIR

DATA = PROJECT_DIR / "ingestion" / "reference" / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().replace("&", "and")).lower()


AUTHORITIES = {r["ons_code"]: r for r in _rows("authorities.csv")}
NAMES = _rows("authority_names.csv")
POPULATION = _rows("population.csv")


def _current_on(day: dt.date) -> Counter:
    return Counter(
        a["authority_type"]
        for a in AUTHORITIES.values()
        if (not a["valid_from"] or dt.date.fromisoformat(a["valid_from"]) <= day)
        and (not a["valid_to"] or dt.date.fromisoformat(a["valid_to"]) >= day)
    )


def test_every_english_council_of_today_and_of_2019_is_there_in_the_ombudsmans_groups():
    # April 2023, after the last reorganisation: 21 counties, 164 districts, 36 metropolitan boroughs,
    # 32 London boroughs and the City of London, 62 unitaries (with the Isles of Scilly): 317 councils.
    assert _current_on(dt.date(2023, 4, 1)) == {
        "County": 21,
        "District": 164,
        "Metropolitan Borough": 36,
        "London Borough": 33,
        "Unitary": 63,
    }
    # April 2019 (the Ombudsman's first year in the range): 26 counties, 192 districts, 56 unitaries.
    assert _current_on(dt.date(2019, 4, 1)) == {
        "County": 26,
        "District": 192,
        "Metropolitan Borough": 36,
        "London Borough": 33,
        "Unitary": 56,
    }
    assert {a["region"] for a in AUTHORITIES.values()} == {
        "North East",
        "North West",
        "Yorkshire and The Humber",
        "East Midlands",
        "West Midlands",
        "East of England",
        "London",
        "South East",
        "South West",
    }


def test_each_reorganisation_ends_the_day_before_its_successors_begin():
    for reorganised, successors, last_day in [
        ("E10000009", {"E06000059"}, "2019-03-31"),  # Dorset County Council -> Dorset Council
        ("E06000028", {"E06000058"}, "2019-03-31"),  # Bournemouth -> BCP
        ("E10000002", {"E06000060"}, "2020-03-31"),  # Buckinghamshire County Council -> Buckinghamshire
        ("E10000021", {"E06000061", "E06000062"}, "2021-03-31"),  # Northamptonshire -> North and West
        ("E10000006", {"E06000063", "E06000064"}, "2023-03-31"),  # Cumbria -> Cumberland, Westmorland
        ("E10000023", {"E06000065"}, "2023-03-31"),  # North Yorkshire County Council -> North Yorkshire
        ("E10000027", {"E06000066"}, "2023-03-31"),  # Somerset County Council -> Somerset Council
        ("E07000246", {"E06000066"}, "2023-03-31"),  # Somerset West and Taunton (2019-2023) -> Somerset
    ]:
        authority = AUTHORITIES[reorganised]
        assert (authority["valid_to"], set(authority["successor_codes"].split(";"))) == (last_day, successors)
        next_day = (dt.date.fromisoformat(last_day) + dt.timedelta(days=1)).isoformat()
        assert {AUTHORITIES[s]["valid_from"] for s in successors} == {next_day}
    # The 2009 unitaries begin on 1 April 2009.
    assert {AUTHORITIES[c]["valid_from"] for c in ("E06000047", "E06000052", "E06000054", "E06000057")} == {
        "2009-04-01"
    }


def test_the_names_the_ombudsman_and_councils_use_each_mean_one_authority():
    by_key: dict[str, set[str]] = {}
    for row in NAMES:
        by_key.setdefault(_key(row["authority_name"]), set()).add(row["ons_code"])
    assert all(len(codes) == 1 for codes in by_key.values())
    assert {row["ons_code"] for row in NAMES} == set(AUTHORITIES)
    code = {key: codes.pop() for key, codes in by_key.items()}
    for spelling, ons_code in [
        ("Oxfordshire County Council", "E10000025"),
        ("Oxfordshire CC", "E10000025"),
        ("Oxford City Council", "E07000178"),
        ("London Borough of Camden", "E09000007"),
        ("Royal Borough of Greenwich", "E09000011"),
        ("Royal Borough of Kensington and Chelsea", "E09000020"),
        ("City of London Corporation", "E09000001"),
        ("Council of the Isles of Scilly", "E06000053"),
        ("Westmorland & Furness Council", "E06000064"),
        ("North Yorkshire Council", "E06000065"),
        ("North Yorkshire County Council", "E10000023"),
        ("Buckinghamshire County Council", "E10000002"),
        ("Buckinghamshire Council", "E06000060"),
        ("Bournemouth, Christchurch and Poole Council", "E06000058"),
        ("Birmingham City Council", "E08000025"),
        ("Cotswold District Council", "E07000079"),
    ]:
        assert code.get(_key(spelling)) == ons_code, spelling


#: The ONS editions bundled (ingestion/reference/data/SOURCES.md): publication day -> mid-years in it.
EDITIONS = {
    "2019-06-26": {2018},
    "2020-06-24": {2019},
    "2021-06-25": {2020},
    "2022-12-21": {2021},
    "2024-03-26": {2022},
    "2024-07-15": {2018, 2019, 2020, 2021, 2022, 2023},  # mid-2023, and mid-2018..2022 as it revised them
    "2025-07-30": {2024},
}


def test_populations_are_the_ons_figures_unrounded_for_every_council_and_year_with_their_edition():
    by_edition = {
        (r["ons_code"], int(r["mid_year"]), r["published_on"]): int(r["population"]) for r in POPULATION
    }
    assert len(by_edition) == len(POPULATION)  # one figure per council, mid-year and edition
    assert {
        published: {year for _, year, day in by_edition if day == published} for published in EDITIONS
    } == EDITIONS
    # Oxfordshire mid-2022 is 738,276 as first published (not the 741,000 once bundled under mid-2023), and
    # 737,795 as the mid-2023 edition revised it; mid-2023 is 750,230.
    assert by_edition[("E10000025", 2022, "2024-03-26")] == 738276
    assert by_edition[("E10000025", 2022, "2024-07-15")] == 737795
    assert by_edition[("E10000025", 2023, "2024-07-15")] == 750230
    # Every council of an edition's boundaries has its estimate there: mid-2019 is on April 2020 boundaries
    # (Buckinghamshire Council and the Northamptonshire districts), mid-2021 on April 2021 boundaries (the
    # Cumbria, North Yorkshire and Somerset districts), mid-2022 on April 2023 ones.
    boundaries = {
        "2019-06-26": "2019-04-01",
        "2020-06-24": "2020-04-01",
        "2021-06-25": "2021-04-01",
        "2022-12-21": "2021-04-01",
        "2024-03-26": "2023-04-01",
        "2024-07-15": "2023-04-01",
        "2025-07-30": "2023-04-01",
    }
    for published, day in boundaries.items():
        on = dt.date.fromisoformat(day)
        existing = {
            code
            for code, a in AUTHORITIES.items()
            if (not a["valid_from"] or dt.date.fromisoformat(a["valid_from"]) <= on)
            and (not a["valid_to"] or dt.date.fromisoformat(a["valid_to"]) >= on)
        }
        assert {c for c, _, d in by_edition if d == published} == existing, published
    assert ("E07000150", 2019, "2020-06-24") in by_edition  # Corby, a district until 2021
    assert ("E10000023", 2021, "2022-12-21") in by_edition  # North Yorkshire County Council, until 2023
    # Unrounded: almost none is a multiple of a thousand.
    assert sum(p % 1000 == 0 for p in by_edition.values()) <= len(by_edition) // 500
    assert all(r["source"].startswith("ONS mid-") for r in POPULATION)
    assert "CC BY 4.0" in (DATA / "SOURCES.md").read_text()


def test_an_ons_mye5_table_dropped_in_reads_like_mye2(tmp_path):
    """The table the bundled figures come from (MYE5) can be dropped in for another mid-year too."""
    from ingestion.reference.population import normalise_mid_year_estimates

    dropped = tmp_path / "mid_year_estimates_2022.csv"
    dropped.write_text(
        "Code,Name,Geography,Area (sq km),Estimated Population mid-2022,2022 people per sq. km,"
        "Estimated Population mid-2011,2011 people per sq. km\n"
        "E92000001,ENGLAND,Country,130310.4675,57106398,438,53107169,408\n"
        "E10000025,Oxfordshire,County,2604.9263,738276,283,654791,251\n"
        "E07000178,Oxford,Non-metropolitan District,45.602700000000006,163257,3580,150245,3295\n"
    )
    out = normalise_mid_year_estimates(dropped, 2022, tmp_path / "out")
    with out.open(newline="") as handle:
        assert [(r["ons_code"], r["mid_year"], r["population"]) for r in csv.DictReader(handle)] == [
            ("E10000025", "2022", "738276"),
            ("E07000178", "2022", "163257"),
        ]
