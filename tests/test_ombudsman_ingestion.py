"""Ombudsman files against a real PostgreSQL: published layouts mapped, bad files refused, bad rows quarantined."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from complaints_warehouse import load
from complaints_warehouse.settings import PROJECT_DIR
from ingestion.copy_loader import RefusedFile
from ingestion.ombudsman.contract import AUTHORITY_NOT_IN_EXISTENCE
from ingestion.ombudsman.normalise import Mapping
from ingestion.reference import bank_holidays

REFERENCE_DIR = PROJECT_DIR / "ingestion" / "reference" / "data"
HEADER_2023 = (
    "Authority,Authority type,Year,Detailed investigations,Upheld,Not upheld,Uphold rate (%),"
    "Satisfactory remedy provided by authority,Satisfactory remedy rate (%)"
)
OXFORDSHIRE = "Oxfordshire County Council,County council,2023-24,37,34,3,92,3,9"


@pytest.fixture
def reference(warehouse):
    """The bundled authorities, name variants and population, loaded as the nightly run loads them."""
    return load.load_source(warehouse, "reference", REFERENCE_DIR)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def load_ombudsman(warehouse, folder: Path):
    return {r.table: r for r in load.load_source(warehouse, "ombudsman", folder)}


def reconciles(sql, result) -> None:
    """rows in = rows loaded + rows quarantined, in the ledger and in the tables themselves."""
    raw = sql(f"select count(*) from raw_ombudsman.{result.table} where _batch_id = %s", (result.batch_id,))
    kept = sql("select count(*) from audit.quarantine where batch_id = %s", (result.batch_id,))
    assert result.rows_in == result.rows_loaded + result.rows_quarantined
    assert (raw[0][0], kept[0][0]) == (result.rows_loaded, result.rows_quarantined)


def test_published_headers_and_labels_of_different_years_load_as_one_layout(
    tmp_path, reference, warehouse, sql
):
    older = (
        "Authority name,Type,Financial year,Adult social care,Environmental services and regulation,"
        "Upheld,Not upheld,Advice given,Closed after initial enquiries,Incomplete/Invalid,"
        "Referred back for local resolution,Investigations,Uphold rate,Compliance rate\n"
        "Worcestershire CC,County,2021/2022,14,3,12,7,1,20,4,30,19,63%,100%\n"
    )
    result = load_ombudsman(warehouse, write(tmp_path, "annual_statistics.csv", older).parent)[
        "annual_statistics"
    ]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert sql(
        "select authority_name, authority_type, financial_year, received_adult_care, "
        "received_environment_regulation, referred_back, detailed_investigations, uphold_rate_pct, "
        "compliance_rate_pct, mapping_version, source_row from raw_ombudsman.annual_statistics"
    ) == [
        (
            "Worcestershire CC",
            "County",
            "2021/22",
            14,
            3,
            30,
            19,
            63,
            100,
            Mapping.load("annual_statistics").version,
            2,
        )
    ]
    assert sql("select source_file from audit.load_batches where batch_id = %s", (result.batch_id,)) == [
        (str(tmp_path / "annual_statistics.csv"),)
    ]


def test_unmapped_header_is_kept_as_published_and_reported_not_refused(tmp_path, reference, warehouse, sql):
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023},Cases upheld per councillor\n{OXFORDSHIRE},2\n")
    result = load_ombudsman(warehouse, tmp_path)["annual_statistics"]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert result.extra_columns == ["unmapped_cases_upheld_per_councillor"]
    assert sql("select status, message from audit.load_batches where table_name = 'annual_statistics'") == [
        ("loaded", "kept unknown column(s) in _extra: unmapped_cases_upheld_per_councillor")
    ]
    assert sql("select _extra, uphold_rate_pct from raw_ombudsman.annual_statistics") == [
        ({"unmapped_cases_upheld_per_councillor": "2"}, 92)
    ]


def test_unmapped_label_refuses_the_file_naming_the_label(tmp_path, reference, warehouse):
    write(
        tmp_path,
        "annual_statistics.csv",
        f"{HEADER_2023}\n{OXFORDSHIRE.replace('County council', 'Parish')}\n",
    )
    with pytest.raises(RefusedFile, match="unmapped authority_type label 'Parish' in row 2"):
        load_ombudsman(warehouse, tmp_path)


def test_two_header_rows_refuse_the_file(tmp_path, reference, warehouse):
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023}\n{HEADER_2023}\n{OXFORDSHIRE}\n")
    with pytest.raises(RefusedFile, match="two header rows: row 2 repeats the headers of row 1"):
        load_ombudsman(warehouse, tmp_path)


def test_a_grouped_header_above_the_header_is_refused_naming_it(tmp_path, reference, warehouse):
    grouped = ",,,Decisions,,,Rates,,\n"
    write(tmp_path, "annual_statistics.csv", f"{grouped}{HEADER_2023}\n{OXFORDSHIRE}\n")
    with pytest.raises(
        RefusedFile,
        match="no column for authority_name, financial_year .*unmapped header 'Decisions' \\(column 4\\), "
        "'Rates' \\(column 7\\)",
    ):
        load_ombudsman(warehouse, tmp_path)


def test_totals_row_refuses_the_file(tmp_path, reference, warehouse):
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023}\n{OXFORDSHIRE}\nTotal,,2023-24,37,34,3,92,3,9\n")
    with pytest.raises(RefusedFile, match="row 3 is a totals row \\('Total'\\)"):
        load_ombudsman(warehouse, tmp_path)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (OXFORDSHIRE.replace(",92,", ",192,"), "uphold_rate_pct above 100: 192"),
        (OXFORDSHIRE.rsplit(",", 1)[0] + ",-9", "satisfactory_remedy_rate_pct below 0: -9"),
        (OXFORDSHIRE.replace(",37,34,3,", ",30,34,3,"), "more upheld than detailed investigations"),
        (
            OXFORDSHIRE.replace(",37,34,3,", ",40,34,3,"),
            "detailed investigations are not upheld + not upheld",
        ),
        (
            OXFORDSHIRE.replace("Oxfordshire County Council", "Oxon Council"),
            "authority not in the reference list",
        ),
        (OXFORDSHIRE.replace("2023-24", "2023-25"), "financial_year is not written like 2023/24"),
        (OXFORDSHIRE.replace(",37,34,3,92,", ",0,0,0,92,"), "an uphold rate is published for a year with no"),
    ],
)
def test_bad_row_is_quarantined_with_its_reason(tmp_path, reference, warehouse, sql, bad_row, reason):
    good = "Surrey County Council,County council,2022-23,,,,84,,9"
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023}\n{good}\n{bad_row}\n")
    result = load_ombudsman(warehouse, tmp_path)["annual_statistics"]
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 1, 1)
    reconciles(sql, result)
    reasons, raw_row = sql("select reasons, raw_row from audit.quarantine")[0]
    assert any(r.startswith(reason) for r in reasons), reasons
    assert raw_row["source_row"] == "3" and raw_row["authority_name"] == bad_row.split(",")[0]


def test_unmatched_authority_is_listed_not_dropped(tmp_path, reference, warehouse, sql):
    """'Oxford City Council' is an authority of its own, never a variant of Oxfordshire."""
    rows = [
        OXFORDSHIRE.replace("Oxfordshire County Council", name)
        for name in ("Oxfordshire CC", "Oxfordshire C.C.")
    ]
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023}\n" + "\n".join(rows) + "\n")
    result = load_ombudsman(warehouse, tmp_path)["annual_statistics"]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert sql("select raw_row->>'authority_name' from audit.quarantine") == [("Oxfordshire C.C.",)]
    assert sql(
        "select n.ons_code from raw_reference.authority_names n where n.authority_name in "
        "('Oxford City Council', 'Oxfordshire CC') order by 1"
    ) == [("E07000178",), ("E10000025",)]


def test_an_authority_in_a_year_it_did_not_exist_is_quarantined(tmp_path, reference, warehouse, sql):
    """Cumbria County Council ended on 31 March 2023: Cumberland and Westmorland and Furness replaced it."""
    rows = [
        "Cumbria County Council,County council,2022-23,10,6,4,60,0,0",
        "Cumbria County Council,County council,2023-24,10,6,4,60,0,0",
        "Cumberland Council,Unitary authority,2023-24,5,4,1,80,0,0",
        "Cumberland Council,Unitary authority,2022-23,5,4,1,80,0,0",
    ]
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023}\n" + "\n".join(rows) + "\n")
    result = load_ombudsman(warehouse, tmp_path)["annual_statistics"]
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)
    reconciles(sql, result)
    assert sql(
        "select raw_row->>'authority_name', raw_row->>'financial_year', reasons from audit.quarantine order by 1"
    ) == [
        ("Cumberland Council", "2022/23", [AUTHORITY_NOT_IN_EXISTENCE.reason]),
        ("Cumbria County Council", "2023/24", [AUTHORITY_NOT_IN_EXISTENCE.reason]),
    ]


def test_duplicate_council_year_with_different_figures_quarantines_both(tmp_path, reference, warehouse, sql):
    second = OXFORDSHIRE.replace(",37,34,3,92,", ",36,33,3,92,")
    write(tmp_path, "annual_statistics.csv", f"{HEADER_2023}\n{OXFORDSHIRE}\n{second}\n")
    result = load_ombudsman(warehouse, tmp_path)["annual_statistics"]
    assert (result.rows_in, result.rows_loaded, result.rows_quarantined) == (2, 0, 2)
    reconciles(sql, result)
    assert sql("select distinct unnest(reasons) from audit.quarantine") == [
        ("duplicate key in batch (authority_name, financial_year)",)
    ]


def test_xlsx_with_percent_formatted_cells_loads_like_the_csv(tmp_path, reference, warehouse, sql):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Annual statistics"
    sheet.append(HEADER_2023.split(","))
    sheet.append(["Oxfordshire County Council", "County council", "2023-24", 37, 34, 3, 0.92, 3, 0.09])
    for cell in ("G2", "I2"):
        sheet[cell].number_format = "0%"
    workbook.create_sheet("Notes").append(["Figures from the annual review letters."])
    folder = tmp_path / "xlsx"
    folder.mkdir()
    workbook.save(folder / "annual_statistics.xlsx")

    result = load_ombudsman(warehouse, folder)["annual_statistics"]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert sql(
        "select authority_name, financial_year, detailed_investigations, upheld, uphold_rate_pct, "
        "satisfactory_remedy_rate_pct from raw_ombudsman.annual_statistics"
    ) == [("Oxfordshire County Council", "2023/24", 37, 34, 92, 9)]


def test_xlsx_with_several_sheets_and_no_statistics_sheet_is_refused(tmp_path, reference, warehouse):
    workbook = Workbook()
    workbook.active.title = "2022-23"
    workbook.create_sheet("2023-24")
    workbook.save(tmp_path / "annual_statistics.xlsx")
    with pytest.raises(RefusedFile, match="the workbook has 2 sheets \\('2022-23', '2023-24'\\)"):
        load_ombudsman(warehouse, tmp_path)


def test_a_csv_named_xlsx_is_refused(tmp_path, reference, warehouse):
    write(tmp_path, "annual_statistics.xlsx", f"{HEADER_2023}\n{OXFORDSHIRE}\n")
    with pytest.raises(RefusedFile, match="named .xlsx but is not an XLSX workbook"):
        load_ombudsman(warehouse, tmp_path)


def test_decisions_load_incrementally_and_idempotently_keyed_by_reference(
    tmp_path, reference, warehouse, sql
):
    header = "Reference,Authority,Category,Sub category,Decision,Decision date,Summary\n"
    first = write(
        tmp_path / "night1",
        "decisions.csv",
        header + "22001239,Oxfordshire CC,Adult care services,Charging,Not upheld,01/03/2023,First.\n",
    )
    assert load_ombudsman(warehouse, first.parent)["decisions"].rows_loaded == 1
    assert load_ombudsman(warehouse, first.parent)["decisions"].status == "skipped"
    second = write(
        tmp_path / "night2",
        "decisions.csv",
        header
        + "22-001-239,Oxfordshire County Council,Adult care services,Charging,Upheld,01/03/2023,Reviewed.\n"
        + "22 001 24,Oxfordshire CC,Housing,Allocations,Upheld,02/03/2023,Short reference.\n",
    )
    result = load_ombudsman(warehouse, second.parent)["decisions"]
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert sql("select reference, decision from raw_ombudsman.decisions order by _batch_id") == [
        ("22 001 239", "Not upheld"),
        ("22 001 239", "Upheld"),
    ]
    assert sql("select reasons from audit.quarantine") == [
        (["reference is not an Ombudsman reference like 22 001 239"],)
    ]


def test_council_case_spreadsheet_with_an_unknown_compliance_label_is_refused(tmp_path, reference, warehouse):
    write(
        tmp_path,
        "council_cases.csv",
        "Reference,Authority,Remedy due date,Remedy completed date,Compliance outcome\n"
        "22 001 239,Oxfordshire CC,26/04/2023,10/05/2023,Sort of\n",
    )
    with pytest.raises(RefusedFile, match="unmapped compliance_outcome label 'Sort of' in row 2"):
        load_ombudsman(warehouse, tmp_path)


def test_national_mid_year_estimates_file_loads_the_councils_rows(tmp_path, warehouse, sql):
    folder = tmp_path / "reference"
    write(
        folder,
        "mid_year_estimates_2024.csv",
        "Mid-year population estimates, UK, mid-2024\nPersons\n"
        "Code,Name,Geography,All ages,0,1\n"
        'K02000001,UNITED KINGDOM,Country,"69,281,437",1,1\n'
        'E10000025,Oxfordshire,County,"748,112",1,1\n'
        'E07000178,Oxford,Non-metropolitan District,"163,257",1,1\n',
    )
    results = load.load_source(warehouse, "reference", folder)
    assert [(r.table, r.rows_loaded, r.rows_quarantined) for r in results] == [("population", 2, 0)]
    assert sql("select ons_code, mid_year, population from raw_reference.population order by 1") == [
        ("E07000178", 2024, 163257),
        ("E10000025", 2024, 748112),
    ]


def test_reference_data_loads_clean_and_knows_the_cumbria_split(reference, sql):
    assert {(r.table, r.rows_quarantined) for r in reference} == {
        ("authorities", 0),
        ("authority_names", 0),
        ("population", 0),
    }
    assert sql(
        "select ons_code, valid_from::text, valid_to::text, successor_codes from raw_reference.authorities "
        "where ons_code in ('E10000006', 'E06000063', 'E06000064') order by 1"
    ) == [
        ("E06000063", "2023-04-01", None, None),
        ("E06000064", "2023-04-01", None, None),
        ("E10000006", None, "2023-03-31", "E06000063;E06000064"),
    ]


def test_committed_bank_holiday_seed_is_what_the_holidays_package_generates():
    assert bank_holidays.SEED.read_text() == bank_holidays.seed_text()
    days = dict(bank_holidays.bank_holidays())
    assert days["2022-09-19"] == "State Funeral of Queen Elizabeth II"
    assert min(days) < "2014-01-02" and max(days) > "2035-12-25"
