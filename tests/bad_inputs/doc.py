"""Render the bad-input catalogue as ``docs/bad-input-catalogue.md``.

    make bad-input-doc        # or: .venv/bin/python -m tests.bad_inputs.doc

A test keeps the committed document equal to what this renders from the catalogue.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from .catalogue import AREAS, CATALOGUE, ROUTES, Accepted, Exits, Quarantined, Refused

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input-catalogue.md"
TEST = "tests/test_bad_input_catalogue.py::test_bad_input"

INTRO = """\
# The bad-input catalogue

Every kind of bad input the warehouse is known to meet, and what it does with each. Each row is a test:
`{test}[<id>]` makes the bad input from the bundled good samples (`tests/bad_inputs/builders.py`),
delivers it the way production does -- through a source's landing folder or database, the Ombudsman
or reference folder, or the `complaints-warehouse` command -- against a real PostgreSQL, and checks
the result below. Generated from `tests/bad_inputs/catalogue.py` by `make bad-input-doc`; a test keeps
this file equal to the catalogue.

What the results mean, and what every test checks besides the message:

- **quarantined**: the delivery loads and the bad rows go to `audit.quarantine` (personal data:
  `restricted.quarantine`) with the reason shown (a reason may go on to list the allowed codes) and the
  whole raw row; the batch reconciles: *rows in = rows loaded + rows quarantined*, in the ledger
  (`audit.load_batches`) and in the raw and quarantine tables themselves.
- **refused whole**: the file (or a source database's table) is refused with `Refused <file>: <problem>`;
  nothing from it is loaded or quarantined; the ledger records the refusal with the file's name and the
  problem; a landing-folder file moves to `refused/<date>/` beside a note of why. The command line exits 3.
- **accepted**: odd but legitimate input, loaded as if plain, every row counted, nothing quarantined.
- **settings error, exit 2** / **refused, exit 3**: the command stops with the message shown, with no
  traceback and without printing a password.

Kinds: {total} ({by_area}).

| id | area | bad input | delivered through | expected result | test |
| --- | --- | --- | --- | --- | --- |
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def expected(outcome: Quarantined | Refused | Accepted | Exits) -> str:
    return outcome.describe().replace("«", "`` ").replace("»", " ``")


def render() -> str:
    counts = Counter(entry.area for entry in CATALOGUE)
    by_area = ", ".join(f"{area} {counts[area]}" for area in AREAS)
    lines = [INTRO.format(test=TEST, total=len(CATALOGUE), by_area=by_area)]
    for area in AREAS:
        for entry in (e for e in CATALOGUE if e.area == area):
            result = expected(entry.expect) + (f". {entry.notes}" if entry.notes else "")
            lines.append(
                f"| `{entry.id}` | {area} | {_cell(entry.bad_input)} | {ROUTES[entry.route]} "
                f"| {_cell(result)} | `test_bad_input[{entry.id}]` |\n"
            )
    return "".join(lines)


if __name__ == "__main__":
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render())
    sys.stdout.write(f"wrote {DOC} ({len(CATALOGUE)} kinds)\n")
