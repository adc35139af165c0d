"""Rebuild the bundled reference CSVs (ingestion/reference/data/) from the public source files.

Sources (see ingestion/reference/data/SOURCES.md for URLs, licences and retrieval dates):

- mySociety ``uk_local_authority_names_and_codes``: ``data/uk_local_authorities.csv`` (every current and
  recently abolished UK authority: GSS code, official name, type, region, start/end dates, replaced-by) and
  ``data/lookup_name_to_registry.csv`` (the spellings councils and publishers use -> the authority).
- ONS mid-year population estimates, one ``--mye`` per edition: ``PUBLISHED|EDITION=PATH[#SHEET]``, where
  PUBLISHED is the day the ONS published the edition (YYYY-MM-DD), EDITION the label written beside each
  figure, PATH the table saved as CSV or the ONS workbook itself (``.xls`` needs ``xlrd``, ``.xlsx``
  ``openpyxl``) and SHEET its sheet. The table is read from its header row: ``Code`` with ``All ages``
  (MYE2 persons), ``Estimated Population mid-YYYY`` (MYE5: the first such column, the edition's own
  mid-year) or ``Mid-YYYY`` columns (MYE4 time series: the earlier mid-years as that edition revised them, from
  mid-2018 on; its latest column, the edition's own mid-year, comes from its MYE2 table). Each figure is
  the unrounded estimate of one English council for one mid-year in that edition.

Run (the paths are wherever the source files were saved; nothing is downloaded; the full command that
built the bundled files is in ingestion/reference/data/SOURCES.md):

    python scripts/build_reference_data.py \\
        --authorities uk_local_authorities.csv --names lookup_name_to_registry.csv \\
        --mye "2024-03-26|ONS mid-2022, UK (MYE5), April 2023 boundaries=MYE5_Table8.csv" \\
        --mye "2024-07-15|ONS mid-2023, England and Wales (MYE2), April 2023 boundaries=mye23tablesew.xlsx#MYE2 - Persons"

Every figure is copied as published: nothing is rounded, relabelled or typed in by hand. The only rules
applied are written below (type mapping, validity dates, generated name forms, ambiguous names dropped)
and are reported on standard output.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
from collections import defaultdict
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[1] / "ingestion" / "reference" / "data"

#: mySociety local-authority-type -> the Ombudsman's similar-authority group. The City of London
#: Corporation is grouped with the London boroughs; the Isles of Scilly are a unitary authority.
TYPE_GROUPS = {
    "CTY": "County",
    "NMD": "District",
    "MD": "Metropolitan Borough",
    "LBO": "London Borough",
    "CC": "London Borough",
    "UA": "Unitary",
}
#: Register start dates before this are not existence dates (the register began in 2005): left empty.
FIRST_REORGANISATION = dt.date(2009, 4, 1)
#: The MYE "Geography" values of the English council rows.
MYE_COUNCIL = re.compile(r"E(06|07|08|09|10)\d{6}")
MID_YEAR_HEADER = re.compile(r"Estimated Population mid-(\d{4})")
#: A time-series table's columns (MYE4 of the 2023 edition: "Mid-2023", "Mid-2022", ... "Mid-2011").
SERIES_HEADER = re.compile(r"Mid-(\d{4})")
#: The mid-year an MYE2 table is for, from its title ("... local authorities in the UK, mid-2019").
TITLE_MID_YEAR = re.compile(r"\bmid-(\d{4})\b", re.IGNORECASE)
#: The first mid-year a time series is read from: the Ombudsman's first year with council figures in the
#: national file is 2019/20, whose estimate available at publication is mid-2018.
FIRST_MID_YEAR = 2018


def name_key(name: str) -> str:
    """The key authority names are matched on (as NAME_KEY_SQL): case, spacing and '&' vs 'and'."""
    return re.sub(r"\s+", " ", name.strip().replace("&", "and")).lower()


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text.strip() else None


def read_authorities(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle) if r["nation"] == "England"]
    by_code = {r["local-authority-code"]: r for r in rows}
    out = []
    for row in rows:
        group = TYPE_GROUPS.get(row["local-authority-type"])
        if group is None:  # combined authorities, the GLA: not councils the Ombudsman reports on
            continue
        start = _date(row["start-date"])
        end = _date(row["end-date"])
        successors = [by_code[c] for c in row["replaced-by"].split(",") if c.strip() in by_code]
        successor_starts = [_date(s["start-date"]) for s in successors if _date(s["start-date"])]
        if end and successor_starts:
            # mySociety writes either the last day or the first day of the successor: the last day is
            # the day before the successor began.
            end = min(end, min(successor_starts) - dt.timedelta(days=1))
        if end and end < FIRST_REORGANISATION:
            continue  # gone before the data (no Ombudsman figures of 2009/10 on)
        out.append(
            {
                "ons_code": row["gss-code"],
                "authority_name": row["official-name"],
                "authority_type": group,
                "region": row["region"],
                "valid_from": start.isoformat() if start and start >= FIRST_REORGANISATION else "",
                "valid_to": end.isoformat() if end else "",
                "successor_codes": ";".join(s["gss-code"] for s in successors),
                "_registry": row["local-authority-code"],
                "_nice": row["nice-name"],
                "_type": row["local-authority-type"],
            }
        )
    # mySociety leaves the region of some abolished councils empty: theirs is their successor's (no
    # reorganisation crossed a region boundary). Successors of successors are followed.
    by_gss = {a["ons_code"]: a for a in out}
    for authority in out:
        seen = authority
        while not authority["region"] and seen["successor_codes"]:
            seen = by_gss[seen["successor_codes"].split(";")[0]]
            authority["region"] = seen["region"]
    return sorted(out, key=lambda r: r["ons_code"])


def generated_forms(authority: dict[str, str], royal: bool) -> list[str]:
    """The spellings the Ombudsman and councils use, built from the short name by the authority's type.

    Only forms in real use are generated: "X Council" for every council, "X County Council" / "X CC" for
    counties, "X District Council" for districts, "London Borough of X" for London boroughs, "Royal Borough of X" where mySociety lists the
    authority as a royal borough, "X City" for a "X City Council".
    """
    nice = authority["_nice"]
    forms = [authority["authority_name"], nice, f"{nice} Council"]
    if authority["_type"] == "CTY":
        forms += [f"{nice} County Council", f"{nice} CC"]
    if authority["_type"] == "NMD":
        forms += [f"{nice} District Council"]
    if authority["_type"] == "LBO":
        forms += [f"London Borough of {nice}"]
    if royal:
        forms += [f"Royal Borough of {nice}"]
    if authority["authority_name"].endswith(" City Council"):  # "Oxford City"
        forms += [authority["authority_name"].removesuffix(" Council")]
    return forms


def build_names(
    authorities: list[dict[str, str]], lookup_path: Path
) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, ons_code) rows, one per name key; names that would mean two authorities are dropped."""
    by_registry = {a["_registry"]: a["ons_code"] for a in authorities}
    official_names = {a["ons_code"]: a["authority_name"] for a in authorities}
    published: dict[str, dict[str, str]] = defaultdict(dict)  # key -> {code: spelling}
    with lookup_path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            code = by_registry.get(row["local-authority-code"])
            if code:
                published[name_key(row["la-name"])].setdefault(code, row["la-name"])
    royal = {
        code for names in published.values() for code, n in names.items() if "royal borough" in n.lower()
    }
    generated: dict[str, dict[str, str]] = defaultdict(dict)
    for authority in authorities:
        for form in generated_forms(authority, authority["ons_code"] in royal):
            generated[name_key(form)].setdefault(authority["ons_code"], form)
    rows, dropped = [], []
    for key in sorted(set(published) | set(generated)):
        # A spelling mySociety lists wins over a generated form of another authority.
        candidates = published.get(key) or generated[key]
        # An authority's own official name means that authority ("North Yorkshire Council" is the
        # unitary of 2023, not the county it replaced).
        official = {c: s for c, s in candidates.items() if name_key(official_names[c]) == key}
        if len(candidates) > 1 and len(official) == 1:
            candidates = official
        if len(candidates) > 1:
            dropped.append(f"{key!r} -> {sorted(candidates)}")
            continue
        ((code, spelling),) = candidates.items()
        # Prefer a capitalised spelling for the row (lookup lists lower-case duplicates too).
        spellings = [s for s in (published.get(key, {}).get(code), generated.get(key, {}).get(code)) if s]
        spelling = next((s for s in spellings if s != s.lower()), spelling)
        rows.append((spelling, code))
    return sorted(rows, key=lambda r: (r[1], r[0])), dropped


def _sheet_rows(path: Path, sheet: str) -> list[list[object]]:
    """The rows of a CSV file, or of one sheet of an ONS workbook (the first sheet when none is named)."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))
    if path.suffix.lower() == ".xls":
        import xlrd  # only to rebuild from the ONS .xls workbooks of mid-2018 to mid-2021

        book = xlrd.open_workbook(str(path))
        table = book.sheet_by_name(sheet) if sheet else book.sheet_by_index(0)
        return [table.row_values(r) for r in range(table.nrows)]
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    table = book[sheet] if sheet else book.worksheets[0]
    return [list(row) for row in table.iter_rows(values_only=True)]


def _figure(value: object, where: str) -> int:
    """A published count as an int, refusing anything that is not a whole number (a rounded or derived
    figure would be a float with a fraction; the workbooks store whole numbers, .xls ones as floats)."""
    if isinstance(value, float):
        if not value.is_integer():
            sys.exit(f"{where}: {value!r} is not a whole number")
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).replace(",", "").strip()
    if not text.isdigit():
        sys.exit(f"{where}: {value!r} is not a whole number")
    return int(text)


def _population_columns(header: list[str]) -> list[tuple[int, int]]:
    """(column, mid-year) of the population columns of an ONS table header, or [] if it is not one."""
    if "Code" not in header:
        return []
    if "All ages" in header:  # MYE2 persons: the edition's own mid-year, given with --mye-year or the title
        return [(header.index("All ages"), 0)]
    mye5 = [(i, int(m[1])) for i, c in enumerate(header) if (m := MID_YEAR_HEADER.fullmatch(c))]
    if mye5:  # MYE5: the first "Estimated Population mid-YYYY" is the edition's own mid-year
        return mye5[:1]
    # MYE4 time series: the earlier mid-years as this edition revised them, from the first the Ombudsman's
    # statistics can use; the latest column is the edition's own mid-year, read from its MYE2 table.
    series = [(i, int(m[1])) for i, c in enumerate(header) if (m := SERIES_HEADER.fullmatch(c))]
    latest = max((year for _, year in series), default=0)
    return [(i, year) for i, year in series if FIRST_MID_YEAR <= year < latest]


def _find_header(rows: list[list[object]]) -> tuple[int, list[str], list[tuple[int, int]], int | None] | None:
    """(row index, header, population columns, mid-year named in a title line above it) of a table."""
    title_year = None
    for at, row in enumerate(rows):
        header = [str(c).strip() if c is not None else "" for c in row]
        if title_year is None:
            title_year = next((int(m[1]) for c in header if (m := TITLE_MID_YEAR.search(c))), None)
        if columns := _population_columns(header):
            return at, header, columns, title_year
    return None


def read_mye(spec: str, codes: set[str]) -> list[tuple[str, int, int, str, str]]:
    """(ons_code, mid_year, population, published_on, edition) of every English council in one edition.

    ``spec`` is ``PUBLISHED|EDITION=PATH[#SHEET]``. An MYE2 table names its mid-year in its title line
    ("... mid-2019") or, saved as CSV without it, in EDITION ("ONS mid-2024, ...")."""
    label, _, location = spec.partition("=")
    published, _, edition = label.partition("|")
    path_text, _, sheet = location.partition("#")
    if not (edition and path_text):
        sys.exit(f"--mye {spec!r}: expected PUBLISHED|EDITION=PATH[#SHEET]")
    published_on = dt.date.fromisoformat(published.strip()).isoformat()
    path = Path(path_text)
    rows = _sheet_rows(path, sheet)
    found = _find_header(rows)
    if found is None:
        sys.exit(
            f"{path}#{sheet}: no header with 'Code' and 'All ages', 'Estimated Population mid-YYYY' or 'Mid-YYYY'"
        )
    at, header, columns, title_year = found
    if columns[0][1] == 0:  # MYE2: the mid-year from the title, else from the edition label
        mid_year = title_year or next((int(m[1]) for m in [TITLE_MID_YEAR.search(edition)] if m), None)
        if not mid_year:
            sys.exit(f"--mye {spec!r}: an MYE2 table whose mid-year is in neither its title nor EDITION")
        columns = [(columns[0][0], mid_year)]
    code_at = header.index("Code")
    out = []
    for number, row in enumerate(rows[at + 1 :], start=at + 2):
        code = str(row[code_at]).strip() if len(row) > code_at and row[code_at] is not None else ""
        if MYE_COUNCIL.fullmatch(code) and code in codes:
            for column, year in columns:
                figure = _figure(row[column], f"{path}#{sheet} row {number}")
                out.append((code, year, figure, published_on, edition.strip()))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--authorities", type=Path, required=True, help="mySociety uk_local_authorities.csv")
    parser.add_argument("--names", type=Path, required=True, help="mySociety lookup_name_to_registry.csv")
    parser.add_argument(
        "--mye",
        action="append",
        default=[],
        help="PUBLISHED|EDITION=PATH[#SHEET]: one ONS edition (MYE2 persons, MYE4 or MYE5; CSV, .xls, .xlsx)",
    )
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)

    authorities = read_authorities(args.authorities)
    names, dropped = build_names(authorities, args.names)
    codes = {a["ons_code"] for a in authorities}
    population = []
    for spec in args.mye:
        population += read_mye(spec, codes)
    seen: dict[tuple[str, int, str], int] = {}
    for code, year, figure, _published, edition in population:
        if seen.setdefault((code, year, edition), figure) != figure:
            sys.exit(f"{edition}: two different figures for {code} mid-{year}")

    args.out.mkdir(parents=True, exist_ok=True)
    columns = [
        "ons_code",
        "authority_name",
        "authority_type",
        "region",
        "valid_from",
        "valid_to",
        "successor_codes",
    ]
    with (args.out / "authorities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([a[c] for c in columns] for a in authorities)
    with (args.out / "authority_names.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["authority_name", "ons_code"])
        writer.writerows(names)
    with (args.out / "population.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["ons_code", "mid_year", "population", "published_on", "source"])
        writer.writerows(sorted(population, key=lambda r: (r[0], r[1], r[3], r[4])))

    print(f"{len(authorities)} authorities, {len(names)} names, {len(population)} population figures")
    print(f"{len(dropped)} names dropped because they would mean more than one authority:")
    for line in dropped:
        print(f"  {line}")
    missing = sorted(codes - {code for code, *_ in population})
    print(
        f"{len(missing)} authorities without a population figure in the given editions: {' '.join(missing)}"
    )
    editions = sorted({(published, edition) for *_, published, edition in population})
    for published, edition in editions:
        rows = [r for r in population if (r[3], r[4]) == (published, edition)]
        years = sorted({r[1] for r in rows})
        print(f"  {published} {edition}: {len(rows)} figures, mid-{years[0]}..mid-{years[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
