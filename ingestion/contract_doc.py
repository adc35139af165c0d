"""Render a source contract as the Markdown document extract writers read (``CONTRACT.md``).

    python -m ingestion.contract_doc case_system > ingestion/case_system/CONTRACT.md

A test keeps the committed document equal to the contract in code.
"""

from __future__ import annotations

import sys

from ingestion.contract import TableContract
from ingestion.source_config import CONTRACTS

INTRO = {
    "case_system": """\
# The case-system contract

What the warehouse expects from a council's complaints case system, table by table. A source system
delivers these tables through an adapter (`ingestion/adapters/`): a database reached with SQLAlchemy, or
CSV files dropped in a landing folder. A YAML mapping (`ingestion/sources/*.yml`) renames the product's
tables and columns to these and translates its codes to the codes below, so a council's system plugs in
without code.

Every table carries `updated_at`: the warehouse loads rows changed since the last night (less an overlap
window) and asks the source for its full list of keys to notice deletions. `updated_at` also orders a
row's versions: the current version is the one with the latest `updated_at` (then the latest delivery),
so an older export delivered late is kept but does not overwrite newer data; a deletion beats the
versions before it, and a row that comes back with a newer `updated_at` is current again. A row stamped
more than a day in the future (a wrong clock, `2099`, `infinity`) is quarantined. Rows that break the contract
are quarantined with their reasons (`audit.quarantine`; personal tables: `restricted.quarantine`);
a delivery that is not the contract at all (a required column missing, not CSV, not UTF-8 throughout)
is refused whole. Columns the contract does not know are kept (`_extra`) and reported.

Personal data: `complainants` is loaded only into the `restricted` schema. Identifiers marked
*pseudonymised* are stored elsewhere only as a keyed pseudonym (`<name>_pseudonym`), the same for the
same person every night (`WAREHOUSE_PSEUDONYM_KEY`).

Types: `text`; `date` (`2024-03-31`, or the form the source declares: `DD/MM/YYYY`, Excel serial
days); `timestamp` (ISO 8601, `2024-03-31T14:05:00Z`; without an offset, the source's time zone,
Europe/London by default; or `DD/MM/YYYY HH:MM:SS`, Excel serial days, as declared); `integer` (plain
digits); `numeric` (plain digits and a decimal point: no currency sign, thousands separator or exponent);
`boolean` (`true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0`). PostgreSQL's special words (`epoch`,
`infinity`, `today`, `NaN`...) are not values. Empty cells are missing values. See
docs/value-formats.md.
""",
}


def render_table(table: TableContract) -> str:
    lines = [f"## `{table.name}`", "", table.description, ""]
    lines.append(
        f"Key: {', '.join(f'`{k}`' for k in table.key)}."
        + (" Personal data: restricted schema only." if table.personal else "")
    )
    lines += [
        "",
        "| column | type | required | allowed values / rule | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in table.columns:
        allowed = []
        if c.codes:
            allowed.append(", ".join(f"`{v}`" for v in c.codes))
        if c.pattern:
            allowed.append(f"matches `{c.pattern}`")
        if c.min_value is not None:
            allowed.append(f">= {c.min_value:g}")
        if c.max_value is not None:
            allowed.append(f"<= {c.max_value:g}" if abs(c.max_value) < 1e6 else f"<= {c.max_value:,.0f}")
        if c.decimal_places is not None:
            allowed.append(f"at most {c.decimal_places} decimal places")
        notes = [c.description] if c.description else []
        if c.pseudonymise:
            notes.append(
                f"pseudonymised as `{c.pseudonym_column}`"
                + ("; kept in restricted" if c.keep_original else "")
            )
        required = "key" if c.name in table.key else ("yes" if c.required else "")
        lines.append(f"| `{c.name}` | {c.type} | {required} | {'; '.join(allowed)} | {' '.join(notes)} |")
    rules = [r.reason for r in table.rules] + [
        r.reason + (" (also against the rows already loaded)" if r.held_group else "")
        for r in table.batch_rules
    ]
    rules.append(f"duplicate key in batch ({', '.join(table.key)})")
    if table.version_column:
        rules.append(f"{table.version_column} is in the future (more than a day after the extract was taken)")
    lines += ["", "Rows are quarantined when: " + "; ".join(rules) + ".", ""]
    return "\n".join(lines)


def render(contract: str) -> str:
    parts = [INTRO.get(contract, f"# The {contract} contract\n")]
    parts += [render_table(t) for t in CONTRACTS[contract]]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(sys.argv[1] if len(sys.argv) > 1 else "case_system"))
