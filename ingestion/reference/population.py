"""Read the ONS national mid-year population estimates file and write the canonical ``population.csv``.

The ONS publishes "Mid-year population estimates" (table MYE2, persons) for every local authority of the
UK; saved as CSV, the table has a few title lines, then a header row with ``Code``, ``Name``,
``Geography`` and ``All ages`` (then one column per single year of age); table MYE5 of the same release
has ``Estimated Population mid-<year>`` instead, and is read the same way. This keeps the English
councils' rows (codes E06-E10: unitary, district, metropolitan, London borough and county) and writes
``ons_code, mid_year, population, published_on, source``, the layout ``ingestion.reference.contract.POPULATION``
loads. The edition's publication day is taken from the file name when it carries one
(``mid_year_estimates_2023_2024-07-15.csv``: mid-2023, published 15 July 2024), else left empty: an
undated edition is used only where no dated one fits the Ombudsman's rule (docs/ombudsman-per-100k.md).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ingestion.copy_loader import RefusedFile, normalise_header

#: ``mid_year_estimates_2023.csv``: the national file for mid-2023, dropped into the reference folder.
FILE_PATTERN = re.compile(r"mid_year_estimates_(\d{4})(?:_(\d{4}-\d{2}-\d{2}))?\.csv")
COUNCIL_CODE = re.compile(r"E(06|07|08|09|10)\d{6}")
HEADER_SEARCH_LINES = 20


def mid_year_of(path: Path) -> int | None:
    """The mid-year a national estimates file is for, from its name; None for other files."""
    match = FILE_PATTERN.fullmatch(path.name)
    return int(match[1]) if match else None


def published_on_of(path: Path) -> str:
    """The edition's publication day from the file name (``..._2024-07-15.csv``), or '' when it has none."""
    match = FILE_PATTERN.fullmatch(path.name)
    return (match[2] or "") if match else ""


def normalise_mid_year_estimates(path: Path, mid_year: int, out_dir: Path) -> Path:
    """Write ``out_dir/population.csv`` from the national estimates ``path`` for ``mid_year``."""
    published_on = published_on_of(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        for _ in range(HEADER_SEARCH_LINES):
            header = [normalise_header(h) for h in next(rows, [])]
            # MYE2 persons ("All ages") or MYE5 ("Estimated Population mid-2022") of the same release.
            total = next(
                (t for t in ("all_ages", f"estimated_population_mid_{mid_year}") if t in header), None
            )
            if "code" in header and total:
                break
        else:
            raise RefusedFile(
                path,
                f"no header row with 'Code' and 'All ages' in the first {HEADER_SEARCH_LINES} lines "
                f"(expected the ONS MYE2 persons table, or MYE5 with 'Estimated Population mid-{mid_year}', "
                "saved as CSV)",
            )
        code_at, total_at = header.index("code"), header.index(total)
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / "population.csv"
        with out.open("w", newline="", encoding="utf-8") as target:
            writer = csv.writer(target)
            writer.writerow(["ons_code", "mid_year", "population", "published_on", "source"])
            for row in rows:
                if len(row) > max(code_at, total_at) and COUNCIL_CODE.fullmatch(row[code_at].strip()):
                    population = row[total_at].replace(",", "").strip()
                    writer.writerow(
                        [row[code_at].strip(), mid_year, population, published_on, f"ONS {path.name}"]
                    )
    return out
