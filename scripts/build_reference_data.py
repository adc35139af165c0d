"""Rebuild the bundled reference CSVs (ingestion/reference/data/) from the public source files.

Sources (see ingestion/reference/data/SOURCES.md for URLs, licences and retrieval dates):

- mySociety ``uk_local_authority_names_and_codes``: ``data/uk_local_authorities.csv`` (every current and
  recently abolished UK authority: GSS code, official name, type, region, start/end dates, replaced-by) and
  ``data/lookup_name_to_registry.csv`` (the spellings councils and publishers use -> the authority).
- ONS mid-year population estimates, table MYE5 saved as CSV (``Code, Name, Geography, ...,
  Estimated Population mid-YYYY``): the unrounded estimate of every English council for that mid-year.
  Give one ``--mye EDITION=PATH`` per file; EDITION is written beside each figure.

Run (the paths are wherever the source files were saved; nothing is downloaded):

    python scripts/build_reference_data.py \\
        --authorities uk_local_authorities.csv --names lookup_name_to_registry.csv \\
        --mye "ONS mid-2022, UK tables (MYE5), published 2024-03-26, April 2023 geography=MYE5_Table8.csv"

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


def read_mye(edition: str, path: Path, codes: set[str]) -> list[tuple[str, int, int, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        for header in reader:
            columns = [h.strip() for h in header]
            if "Code" in columns and any(MID_YEAR_HEADER.fullmatch(c) for c in columns):
                break
        else:
            sys.exit(f"{path}: no header with 'Code' and 'Estimated Population mid-YYYY'")
        code_at = columns.index("Code")
        # The first "Estimated Population mid-YYYY" column is the edition's own mid-year.
        at, mid_year = next(
            (i, int(m[1])) for i, c in enumerate(columns) if (m := MID_YEAR_HEADER.fullmatch(c))
        )
        out = []
        for row in reader:
            code = row[code_at].strip() if len(row) > at else ""
            if MYE_COUNCIL.fullmatch(code) and code in codes:
                out.append((code, mid_year, int(row[at].replace(",", "")), edition))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--authorities", type=Path, required=True, help="mySociety uk_local_authorities.csv")
    parser.add_argument("--names", type=Path, required=True, help="mySociety lookup_name_to_registry.csv")
    parser.add_argument("--mye", action="append", default=[], help="EDITION=PATH of an ONS MYE5 table as CSV")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)

    authorities = read_authorities(args.authorities)
    names, dropped = build_names(authorities, args.names)
    codes = {a["ons_code"] for a in authorities}
    population = []
    for spec in args.mye:
        edition, _, path = spec.partition("=")
        population += read_mye(edition, Path(path), codes)

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
        writer.writerow(["ons_code", "mid_year", "population", "source"])
        writer.writerows(sorted(population))

    print(f"{len(authorities)} authorities, {len(names)} names, {len(population)} population figures")
    print(f"{len(dropped)} names dropped because they would mean more than one authority:")
    for line in dropped:
        print(f"  {line}")
    missing = sorted(codes - {code for code, *_ in population})
    print(
        f"{len(missing)} authorities without a population figure in the given editions: {' '.join(missing)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
