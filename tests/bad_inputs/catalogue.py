"""The catalogue: one entry per kind of bad input, with how to make it and what the warehouse must do.

Expected results are one of:

- ``Quarantined``: the delivery loads; the bad row(s) go to the quarantine with the reason, whole, and
  the batch reconciles (rows in = rows loaded + rows quarantined).
- ``Refused``: the file is refused whole, the message naming the file and the problem; nothing from it
  is loaded; the ledger records the refusal with the file's name.
- ``Accepted``: odd but legitimate input, loaded as if it were plain (every row counted).
- ``Exits``: the command line stops with an exit code (2: a setting or configuration is wrong; 3: an
  input was refused) and a message, never a traceback or a password.

Routes (how an entry is delivered): ``landing`` a case-system source's landing folder (files adapter);
``sql`` a case-system source database (SQL adapter); ``ombudsman`` and ``reference`` their folders;
``cli`` the ``complaints-warehouse`` command in a subprocess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import builders as b
from .builders import Delivery

AREAS = (
    "case system rows",
    "case system files",
    "source configs",
    "Ombudsman statistics",
    "Ombudsman decisions and case spreadsheets",
    "reference data",
    "settings",
    "CLI",
)
ROUTES = {
    "landing": "a source's landing folder",
    "sql": "a source's database",
    "ombudsman": "the Ombudsman folder",
    "reference": "the reference folder",
    "cli": "the command line",
}
SECRET = "s3cret-pw"  # the password in every URL an entry sets: it must never be printed


@dataclass(frozen=True)
class Quarantined:
    reason: str  # the reason recorded, or its start (codes lists follow in brackets)
    count: int = 1  # rows quarantined
    loaded: int = 2  # rows of the same delivery that still load

    def describe(self) -> str:
        rows = "row" if self.count == 1 else "rows"
        return f"{self.count} {rows} quarantined: «{self.reason}»; {self.loaded} loaded"


@dataclass(frozen=True)
class Refused:
    problem: str  # what the message says after "Refused <file>: "

    def describe(self) -> str:
        return f"refused whole: «{self.problem}»"


@dataclass(frozen=True)
class Accepted:
    loaded: int
    extra_columns: tuple[str, ...] = ()  # columns the contract does not know: kept in _extra, reported

    def describe(self) -> str:
        kept = (
            f"; column(s) {', '.join(self.extra_columns)} not in the contract: reported, and dropped or kept "
            "as the source's `unknown_columns` says (case system: dropped by default)"
            if self.extra_columns
            else ""
        )
        return f"accepted: {self.loaded} rows loaded, nothing quarantined{kept}"


@dataclass(frozen=True)
class Exits:
    code: int
    message: str

    def describe(self) -> str:
        kind = {2: "settings error", 3: "refused"}.get(self.code, "error")
        return f"{kind}, exit {self.code}: «{self.message}»"


Outcome = Quarantined | Refused | Accepted | Exits


@dataclass
class BuildContext:
    """What a builder may use: its own folder, a name for the source system, and the warehouse."""

    folder: Path
    source_system: str
    warehouse_url: Callable[[str | None], str]  # a URL on the test server (optionally another database)
    database: str  # the test warehouse's database name
    execute: Callable[[str], None]  # run SQL in the test warehouse (to make a source table)


@dataclass(frozen=True)
class BadInput:
    id: str
    area: str
    route: str
    bad_input: str
    build: Callable[[BuildContext], Delivery]
    expect: Outcome
    notes: str = field(default="")

    def __post_init__(self) -> None:
        assert self.area in AREAS, self.area
        assert self.route in ROUTES, self.route


# --- builders that need more than one line -----------------------------------------------------------


def _representations(change: dict[str, str] | list[dict[str, str]]) -> Callable[[BuildContext], Delivery]:
    return lambda ctx: b.case_file(ctx.folder, "representations", change)


def _case_table(table: str, change: dict[str, str]) -> Callable[[BuildContext], Delivery]:
    return lambda ctx: b.case_file(ctx.folder, table, change, base=1)


def _duplicate_key(ctx: BuildContext) -> Delivery:
    header, good = b.good_case_rows("representations", 3)
    rows = [[r[h] for h in header] for r in [*good[:2], good[2], good[2]]]
    path = b.write(ctx.folder, "representations.csv", b.csv_text(header, rows))
    return Delivery(
        file=path, table="representations", raw={"representation_id": good[2]["representation_id"]}
    )


def _stage_out_of_order(ctx: BuildContext) -> Delivery:
    header, good = b.good_case_rows("stages", 2)
    stage_1 = dict(
        good[0], representation_id="CFS-LATE", opened_date="2023-09-17", due_date="", responded_date=""
    )
    stage_2 = dict(stage_1, stage="2", opened_date="2023-09-10")
    rows = [[r[h] for h in header] for r in [*good, stage_1, stage_2]]
    path = b.write(ctx.folder, "stages.csv", b.csv_text(header, rows))
    return Delivery(file=path, table="stages", raw={"representation_id": "CFS-LATE", "stage": "2"})


def _latin1_row(ctx: BuildContext) -> Delivery:
    header, good = b.good_case_rows("representations", 3)
    good[2]["service_area_name"] = "Caf\xe9 licensing"
    text = b.csv_text(header, [[r[h] for h in header] for r in good])
    path = b.write(ctx.folder, "representations.csv", text.encode("latin-1"))
    return Delivery(file=path, table="representations", raw={"service_area_name": "Caf\xe9 licensing"})


def _unmapped_source_code(ctx: BuildContext) -> Delivery:
    header, good = b.good_case_rows("representations", 3)
    for row, code in zip(good, ("C", "C", "X"), strict=True):
        row["status"] = code
    path = b.write(ctx.folder, "cases.csv", b.csv_text(header, [[r[h] for h in header] for r in good]))
    config = "  representations:\n    from: cases.csv\n    codes: {status: {O: open, C: closed}}\n"
    return Delivery(file=path, table="representations", raw={"status": "X"}, config=config)


def _sql_source(ctx: BuildContext, *, columns: list[str], rows: list[list[str]], mapping: str) -> Delivery:
    """A vendor table ``<source_system>.cases`` in a database on the test server (text, as vendors keep)."""
    schema = ctx.source_system
    types = [f"{c} timestamptz" if c in ("updated_at", "modified_at") else f"{c} text" for c in columns]
    ctx.execute(f"create schema {schema}; create table {schema}.cases ({', '.join(types)})")
    for row in rows:
        values = ", ".join("null" if v == "" else "'" + v.replace("'", "''") + "'" for v in row)
        ctx.execute(f"insert into {schema}.cases values ({values})")
    return Delivery(
        name=f"{ctx.source_system}:{schema}.cases",
        table="representations",
        config=f"  representations:\n    from: {schema}.cases\n{mapping}",
    )


def _sql_bad_row(ctx: BuildContext) -> Delivery:
    header, good = b.good_case_rows("representations", 3)
    good[2]["procedure"] = "housing_appeal"
    delivery = _sql_source(
        ctx,
        columns=header,
        rows=[[r[h] for h in header] for r in good],
        mapping="    detect_deletions: false\n",
    )
    delivery.raw = {"procedure": "housing_appeal"}
    return delivery


def _sql_missing_column(ctx: BuildContext) -> Delivery:
    return _sql_source(
        ctx,
        columns=["case_ref", "modified_at"],
        rows=[["X1", "2024-01-01T00:00:00Z"]],
        mapping="    columns: {representation_id: case_ref, updated_at: modified_at}\n",
    )


def _sql_missing_table(ctx: BuildContext) -> Delivery:
    return Delivery(
        name=f"{ctx.source_system}:vendor.no_such_table",
        table="representations",
        config="  representations:\n    from: vendor.no_such_table\n",
    )


def _header_only(ctx: BuildContext) -> Delivery:
    header, _ = b.good_case_rows("representations")
    return Delivery(
        file=b.write(ctx.folder, "representations.csv", ",".join(header) + "\n"), table="representations"
    )


def _variant(text_of: Callable[[str], str | bytes], name: str = "representations.csv"):
    """The bundled representations' header and first two rows, rewritten by ``text_of``."""

    def build(ctx: BuildContext) -> Delivery:
        text = b.sample_text(b.CASE_SAMPLE / "representations.csv", rows=2)
        return Delivery(file=b.write(ctx.folder, name, text_of(text)), table="representations")

    return build


def _header_changed(change: Callable[[list[str]], list[str]]):
    def build(ctx: BuildContext) -> Delivery:
        header, rows = b.read_csv(b.CASE_SAMPLE / "representations.csv")
        text = b.csv_text(change(list(header)), rows[:2])
        return Delivery(file=b.write(ctx.folder, "representations.csv", text), table="representations")

    return build


def _sample_workbook() -> dict[str, list[list[object]]]:
    header, rows = b.read_csv(b.CASE_SAMPLE / "representations.csv")
    return {"Cases": [header, *rows[:2]]}


def _workbook(content: Callable[[], bytes], config: str = ""):
    def build(ctx: BuildContext) -> Delivery:
        path = b.write(ctx.folder, "cases.xlsx", content())
        tables = config or "  representations: {from: cases.xlsx}\n"
        return Delivery(file=path, table="representations", config=tables)

    return build


# The Ombudsman's published annual statistics (the bundled sample's 2023 layout).
STATS_HEADER, STATS_ROWS = b.read_csv(b.OMBUDSMAN_SAMPLE / "annual_statistics.csv")


def _stats(change: dict[str, str], raw: dict[str, str] | None = None, *, base: int = 1):
    """The sample's first ``base`` rows, then Worcestershire 2022-23 with the given cells changed."""

    def build(ctx: BuildContext) -> Delivery:
        bad = dict(zip(STATS_HEADER, STATS_ROWS[1], strict=True)) | change
        rows = [*STATS_ROWS[:base], [bad[h] for h in STATS_HEADER]]
        path = b.write(ctx.folder, "annual_statistics.csv", b.csv_text(STATS_HEADER, rows))
        return Delivery(file=path, table="annual_statistics", raw=raw or {})

    return build


def _stats_text(text_of: Callable[[str], str | bytes], name: str = "annual_statistics.csv"):
    def build(ctx: BuildContext) -> Delivery:
        text = b.csv_text(STATS_HEADER, STATS_ROWS[:2])
        return Delivery(file=b.write(ctx.folder, name, text_of(text)), table="annual_statistics")

    return build


def _stats_workbook(content: Callable[[], bytes]):
    def build(ctx: BuildContext) -> Delivery:
        path = b.write(ctx.folder, "annual_statistics.xlsx", content())
        return Delivery(file=path, table="annual_statistics")

    return build


def _stats_sheets(*titles: str) -> bytes:
    return b.xlsx_bytes({title: [STATS_HEADER, *STATS_ROWS[:2]] for title in titles})


def _published(table: str, change: dict[str, str], raw: dict[str, str], *, base: int = 2, copies: int = 1):
    """The bundled Ombudsman ``table`` file's first ``base`` rows, then its next row with cells changed."""

    def build(ctx: BuildContext) -> Delivery:
        header, rows = b.read_csv(b.OMBUDSMAN_SAMPLE / f"{table}.csv")
        bad = dict(zip(header, rows[base], strict=True)) | change
        body = [*rows[:base], *[[bad[h] for h in header]] * copies]
        path = b.write(ctx.folder, f"{table}.csv", b.csv_text(header, body))
        return Delivery(file=path, table=table, raw=raw)

    return build


def _reference(table: str, change: dict[str, str], raw: dict[str, str] | None = None, *, copies: int = 1):
    """The bundled reference ``table``'s first two rows, then its third with cells changed."""

    def build(ctx: BuildContext) -> Delivery:
        header, rows = b.read_csv(b.REFERENCE_DATA / f"{table}.csv")
        bad = dict(zip(header, rows[2], strict=True)) | change
        body = [*rows[:2], *[[bad[h] for h in header]] * copies]
        path = b.write(ctx.folder, f"{table}.csv", b.csv_text(header, body))
        return Delivery(file=path, table=table, raw=raw if raw is not None else change)

    return build


def _mid_year_estimates_without_header(ctx: BuildContext) -> Delivery:
    text = "Mid-year population estimates, UK, mid-2024\nPersons\nE10000025,Oxfordshire,County,748112\n"
    return Delivery(file=b.write(ctx.folder, "mid_year_estimates_2024.csv", text), table="population")


def _config(text: str, *, args: tuple[str, ...] = ("load",)):
    """``WAREHOUSE_SOURCES`` naming one source configuration with ``text``, then ``complaints-warehouse load``."""

    def build(ctx: BuildContext) -> Delivery:
        ctx.folder.mkdir(parents=True, exist_ok=True)
        path = b.write(ctx.folder, "source.yml", text.replace("{folder}", str(ctx.folder)))
        return Delivery(args=list(args), env={"WAREHOUSE_SOURCES": str(path)})

    return build


FILES_SOURCE = "source_system: council\ncontract: case_system\nadapter: files\nlanding: {folder}\n"
SQL_SOURCE = f"source_system: council\ncontract: case_system\nadapter: sql\nurl: postgresql://loader:{SECRET}@127.0.0.1:1/cases\n"


def _cli(*args: str, **env: str):
    return lambda ctx: Delivery(args=list(args), env=dict(env))


def _cli_with(make_env: Callable[[BuildContext], dict[str, str]], *args: str):
    return lambda ctx: Delivery(args=list(args), env=make_env(ctx))


def _cli_refused_file(ctx: BuildContext) -> Delivery:
    path = b.write(ctx.folder, "representations.csv", "")
    return Delivery(
        file=path, table="representations", args=["load", "case_system", "--from", str(ctx.folder)]
    )


def _cli_empty_folder(ctx: BuildContext) -> Delivery:
    b.write(ctx.folder, "notes.txt", "nothing for the warehouse here\n")
    return Delivery(args=["load", "case_system", "--from", str(ctx.folder)])


R = "representations"
CATALOGUE: tuple[BadInput, ...] = (
    # --- case system rows: quarantined, the rest of the delivery loads ----------------------------------
    BadInput(
        "row-missing-required-value",
        "case system rows",
        "landing",
        "a required cell left empty (no representation_id)",
        _representations({"representation_id": ""}),
        Quarantined("missing representation_id"),
    ),
    BadInput(
        "row-date-in-words",
        "case system rows",
        "landing",
        "a date written in words (`10th Jan 2024`)",
        _representations({"received_date": "10th Jan 2024"}),
        Quarantined("received_date is not a date: 10th Jan 2024"),
    ),
    BadInput(
        "row-impossible-date",
        "case system rows",
        "landing",
        "a date that does not exist (`2024-02-30`)",
        _representations({"received_date": "2024-02-30"}),
        Quarantined("received_date is not a date: 2024-02-30"),
    ),
    BadInput(
        "row-received-in-future",
        "case system rows",
        "landing",
        "a case received in the future (`2099-01-10`)",
        _representations({"received_date": "2099-01-10", "status": "open", "closed_date": ""}),
        Quarantined("received in the future"),
    ),
    BadInput(
        "row-closed-before-received",
        "case system rows",
        "landing",
        "closed before it was received",
        _representations({"received_date": "2023-09-17", "closed_date": "2023-09-01"}),
        Quarantined("closed before received"),
    ),
    BadInput(
        "row-unknown-procedure-code",
        "case system rows",
        "landing",
        "a procedure code the contract does not know (`housing_appeal`)",
        _representations({"procedure": "housing_appeal"}),
        Quarantined("unknown procedure code: housing_appeal"),
    ),
    BadInput(
        "row-not-a-boolean",
        "case system rows",
        "landing",
        "a yes/no column saying `perhaps`",
        _representations({"joint_with_nhs": "perhaps"}),
        Quarantined("joint_with_nhs is not true or false: perhaps"),
    ),
    BadInput(
        "row-missing-updated-at",
        "case system rows",
        "landing",
        "no `updated_at` (the warehouse loads incrementally by it)",
        _representations({"updated_at": ""}),
        Quarantined("missing updated_at"),
    ),
    BadInput(
        "row-duplicate-key",
        "case system rows",
        "landing",
        "the same case twice in one delivery",
        _duplicate_key,
        Quarantined("duplicate key in batch (representation_id)", count=2),
        notes="Both copies are kept: the warehouse cannot tell which is right.",
    ),
    BadInput(
        "row-not-utf8",
        "case system rows",
        "landing",
        "one row in Latin-1 (`Café` as byte E9) in a UTF-8 file",
        _latin1_row,
        Quarantined("not valid UTF-8 text (shown as Latin-1)"),
    ),
    BadInput(
        "row-unmapped-source-code",
        "case system rows",
        "landing",
        "a source code the source's mapping does not translate (status `X`; mapping O, C)",
        _unmapped_source_code,
        Quarantined("unknown status code: X"),
    ),
    BadInput(
        "stage-unknown-stage",
        "case system rows",
        "landing",
        "a stage that does not exist (`7`)",
        _case_table("stages", {"stage": "7"}),
        Quarantined("unknown stage code: 7", loaded=1),
    ),
    BadInput(
        "stage-responded-before-opened",
        "case system rows",
        "landing",
        "a stage answered before it was opened",
        _case_table("stages", {"opened_date": "2023-09-17", "responded_date": "2023-09-10"}),
        Quarantined("responded before opened", loaded=1),
    ),
    BadInput(
        "stage-out-of-order",
        "case system rows",
        "landing",
        "Stage 2 opened before the case's Stage 1",
        _stage_out_of_order,
        Quarantined("stage out of order: opened before the previous stage", loaded=3),
    ),
    BadInput(
        "stage-skipped",
        "case system rows",
        "landing",
        "a Stage 3 for a case with no Stage 2",
        _case_table("stages", {"stage": "3"}),
        Accepted(2),
        notes=(
            "Loaded on purpose: the earlier stage may have come in an earlier night, or stayed in the "
            "system a migration replaced (`replaces:`); quarantining the later stage would lose it for good. "
            "Dates out of stage order are quarantined (`stage-out-of-order`)."
        ),
    ),
    BadInput(
        "stage-negative-suspension",
        "case system rows",
        "landing",
        "a negative number of suspended days",
        _case_table("stages", {"suspended_days": "-3"}),
        Quarantined("suspended_days below 0: -3", loaded=1),
    ),
    BadInput(
        "stage-text-in-number",
        "case system rows",
        "landing",
        "a number written in words (`three` suspended days)",
        _case_table("stages", {"suspended_days": "three"}),
        Quarantined("suspended_days is not a whole number: three", loaded=1),
    ),
    BadInput(
        "payment-negative-amount",
        "case system rows",
        "landing",
        "a negative payment",
        _case_table("payments", {"amount": "-50.00"}),
        Quarantined("amount below 0: -50.00", loaded=1),
    ),
    BadInput(
        "payment-pound-sign",
        "case system rows",
        "landing",
        "an amount with a currency sign (`£250.00`)",
        _case_table("payments", {"amount": "£250.00"}),
        Quarantined("amount is not a number: £250.00", loaded=1),
        notes="The contract's numbers carry no currency sign; the raw row keeps the text.",
    ),
    BadInput(
        "remedy-completed-before-agreed",
        "case system rows",
        "landing",
        "a remedy completed before it was agreed",
        _case_table("remedies", {"agreed_date": "2023-10-01", "completed_date": "2023-09-01"}),
        Quarantined("remedy completed before it was agreed", loaded=1),
    ),
    BadInput(
        "ombudsman-case-bad-reference",
        "case system rows",
        "landing",
        "the council's record of an Ombudsman case with a reference not written `22 001 239`",
        _case_table("ombudsman_cases", {"ombudsman_reference": "22-001-239"}),
        Quarantined("ombudsman_reference is not in the expected form: 22-001-239", loaded=1),
    ),
    BadInput(
        "service-area-valid-to-before-from",
        "case system rows",
        "landing",
        "a service area that ended before it began",
        _case_table("service_areas", {"valid_from": "2022-04-01", "valid_to": "2021-03-31"}),
        Quarantined("valid_to before valid_from", loaded=1),
    ),
    BadInput(
        "complainant-bad-date-of-birth",
        "case system rows",
        "landing",
        "a complainant's date of birth that does not exist (`31/02/1970`)",
        _case_table("complainants", {"date_of_birth": "31/02/1970"}),
        Quarantined("date_of_birth is not a date: 31/02/1970", loaded=1),
        notes="Personal data: quarantined in `restricted.quarantine`, never `audit`.",
    ),
    BadInput(
        "sql-row-unknown-code",
        "case system rows",
        "sql",
        "a row of a source database with a procedure code the contract does not know",
        _sql_bad_row,
        Quarantined("unknown procedure code: housing_appeal"),
    ),
    # --- case system files: refused whole, or accepted when only the wrapping is odd -------------------
    BadInput(
        "file-zero-byte",
        "case system files",
        "landing",
        "a zero-byte file",
        _variant(lambda text: ""),
        Refused("the file is empty (expected a CSV header row)"),
    ),
    BadInput(
        "file-header-only",
        "case system files",
        "landing",
        "a header row and no rows",
        _header_only,
        Accepted(0),
        notes="A night with no changes: the ledger records a batch of 0 rows.",
    ),
    BadInput(
        "file-xlsx-named-csv",
        "case system files",
        "landing",
        "a workbook renamed `.csv`",
        _variant(lambda text: b.xlsx_bytes({"Cases": [text.splitlines()[0].split(",")]})),
        Refused("the file is binary, not CSV text (an XLSX or other binary file?)"),
    ),
    BadInput(
        "file-gzip-named-csv",
        "case system files",
        "landing",
        "a gzip-compressed export named `.csv`",
        _variant(b.gzip_of),
        Refused("the file is gzip-compressed, not CSV text: decompress it first"),
    ),
    BadInput(
        "file-missing-required-column",
        "case system files",
        "landing",
        "a required column missing (`procedure`)",
        _header_changed(lambda h: [("procedures_team" if c == "procedure" else c) for c in h]),
        Refused("missing required column(s) procedure for case_system.representations"),
    ),
    BadInput(
        "file-duplicated-header-column",
        "case system files",
        "landing",
        "a column named twice in the header",
        _header_changed(lambda h: [("status" if c == "channel" else c) for c in h]),
        Refused("the header names these columns more than once: status"),
    ),
    BadInput(
        "file-empty-column-name",
        "case system files",
        "landing",
        "a header cell left empty",
        _header_changed(lambda h: [("" if c == "channel" else c) for c in h]),
        Refused("the header row has an empty column name"),
    ),
    BadInput(
        "file-unknown-column",
        "case system files",
        "landing",
        "a column the contract does not know (`Case Officer`), and one named like the warehouse's own (`_batch_id`)",
        _header_changed(
            lambda h: [{"channel": "Case Officer", "risk_level": "_batch_id"}.get(c, c) for c in h]
        ),
        Accepted(2, extra_columns=("case_officer", "batch_id")),
        notes="Headers are normalised (lower case, `_` between words, none leading), so nothing can pose as a warehouse column.",
    ),
    BadInput(
        "file-ragged-row",
        "case system files",
        "landing",
        "a row with more fields than the header",
        _variant(
            lambda text: (
                text + "CFS-99999,complaint,corporate,2023-09-17,phone,A,B,C,,false,open,,2023-09-28,extra\n"
            )
        ),
        Refused("the file is not well-formed CSV for its header (extra data after last expected column"),
    ),
    BadInput(
        "file-semicolon-delimited",
        "case system files",
        "landing",
        "a semicolon-delimited export (European Excel)",
        _variant(lambda text: text.replace(",", ";")),
        Refused("the header is separated by ';', not commas: export the file as comma-separated CSV"),
    ),
    BadInput(
        "file-tab-delimited",
        "case system files",
        "landing",
        "a tab-delimited export named `.csv`",
        _variant(lambda text: text.replace(",", "\t")),
        Refused("the header is separated by tabs, not commas: export the file as comma-separated CSV"),
    ),
    BadInput(
        "file-header-not-utf8",
        "case system files",
        "landing",
        "a header in Latin-1 (`Réf` with byte E9)",
        _variant(lambda text: ("r\xe9f," + text).encode("latin-1")),
        Refused("the header row is not UTF-8 text"),
    ),
    BadInput(
        "file-byte-order-mark",
        "case system files",
        "landing",
        "a UTF-8 byte-order mark before the header (Excel's `CSV UTF-8`)",
        _variant(lambda text: "\ufeff" + text),
        Accepted(2),
    ),
    BadInput(
        "file-windows-line-endings",
        "case system files",
        "landing",
        "Windows line endings (CRLF)",
        _variant(lambda text: text.replace("\n", "\r\n")),
        Accepted(2),
    ),
    BadInput(
        "file-trailing-blank-lines",
        "case system files",
        "landing",
        "blank lines after the last row",
        _variant(lambda text: text + "\n\n\r\n"),
        Accepted(2),
        notes="Blank lines at the end carry nothing; a blank line between rows is a ragged row.",
    ),
    BadInput(
        "file-blank-line-between-rows",
        "case system files",
        "landing",
        "a blank line between two rows",
        _variant(lambda text: text.replace("\n", "\n\n", 2).replace("\n\n", "\n", 1)),
        Refused("the file is not well-formed CSV for its header"),
    ),
    BadInput(
        "file-xlsx-two-sheets",
        "case system files",
        "landing",
        "an XLSX export with two sheets and no `sheet:` in the source's mapping",
        _workbook(lambda: b.xlsx_bytes({**_sample_workbook(), "Notes": [["exported by"]]})),
        Refused("the workbook has 2 sheets ('Cases', 'Notes'); name one with `sheet:`"),
    ),
    BadInput(
        "file-xlsx-two-sheets-one-named",
        "case system files",
        "landing",
        "an XLSX export with two sheets, the source's mapping naming one (`sheet: Cases`)",
        _workbook(
            lambda: b.xlsx_bytes({"Notes": [["exported by"]], **_sample_workbook()}),
            "  representations: {from: cases.xlsx, sheet: Cases}\n",
        ),
        Accepted(2),
    ),
    BadInput(
        "file-xlsx-sheet-missing",
        "case system files",
        "landing",
        "an XLSX export without the sheet the mapping names",
        _workbook(
            lambda: b.xlsx_bytes({"Sheet1": _sample_workbook()["Cases"]}),
            "  representations: {from: cases.xlsx, sheet: Cases}\n",
        ),
        Refused("the workbook has no sheet 'Cases' (it has 'Sheet1')"),
    ),
    BadInput(
        "file-xlsx-corrupt",
        "case system files",
        "landing",
        "a truncated XLSX (an interrupted download)",
        _workbook(lambda: b.truncated_xlsx(_sample_workbook())),
        Refused("the file is not a readable XLSX workbook"),
    ),
    BadInput(
        "file-xlsx-password-protected",
        "case system files",
        "landing",
        "a password-protected (encrypted) XLSX",
        _workbook(b.encrypted_workbook),
        Refused("the workbook is password-protected (encrypted): save it without a password"),
    ),
    BadInput(
        "sql-missing-column",
        "case system files",
        "sql",
        "a source table without a required column",
        _sql_missing_column,
        Refused("missing required column 'representation_type' (for representation_type)"),
    ),
    BadInput(
        "sql-missing-table",
        "case system files",
        "sql",
        "a source table that does not exist",
        _sql_missing_table,
        Refused("the source table does not exist"),
    ),
    # --- source configurations: the command stops before loading, naming the file -----------------------
    BadInput(
        "config-yaml-syntax-error",
        "source configs",
        "cli",
        "a YAML syntax error",
        _config("source_system: [unclosed\n"),
        Exits(2, "not valid YAML"),
    ),
    BadInput(
        "config-not-a-mapping",
        "source configs",
        "cli",
        "a file that is YAML but not a mapping (a list)",
        _config("- source_system: council\n- adapter: files\n"),
        Exits(2, "expected a mapping of settings (source_system, contract, adapter, tables)"),
    ),
    BadInput(
        "config-unknown-adapter",
        "source configs",
        "cli",
        "an adapter the warehouse does not have (`ftp`)",
        _config(FILES_SOURCE.replace("adapter: files", "adapter: ftp") + "tables: {}\n"),
        Exits(2, "unknown adapter 'ftp' (use sql or files)"),
    ),
    BadInput(
        "config-unknown-table",
        "source configs",
        "cli",
        "a table that is not in the contract",
        _config(FILES_SOURCE + "tables:\n  tenancies: {}\n"),
        Exits(2, "table 'tenancies' is not in the case_system contract"),
    ),
    BadInput(
        "config-unknown-column",
        "source configs",
        "cli",
        "a column mapping to a column the contract does not have",
        _config(FILES_SOURCE + "tables:\n  representations:\n    columns: {colour: hue}\n"),
        Exits(2, "representations: 'colour' is not a column of the contract"),
    ),
    BadInput(
        "config-tables-not-a-mapping",
        "source configs",
        "cli",
        "`tables:` written as a list",
        _config(FILES_SOURCE + "tables: [representations, stages]\n"),
        Exits(2, "'tables' must map contract tables to their sources"),
    ),
    BadInput(
        "config-overlap-not-a-number",
        "source configs",
        "cli",
        "`overlap_hours: two days`",
        _config(SQL_SOURCE + "overlap_hours: two days\ntables:\n  representations: {}\n"),
        Exits(2, "overlap_hours 'two days' is not a whole number of hours"),
    ),
    BadInput(
        "config-sql-name-injection",
        "source configs",
        "cli",
        "a source table that is not a plain SQL name (`cases; drop table x`)",
        _config(SQL_SOURCE + "tables:\n  representations:\n    from: 'cases; drop table x'\n"),
        Exits(2, "representations: source table 'cases; drop table x' is not a plain SQL name"),
    ),
    BadInput(
        "config-code-to-unknown-code",
        "source configs",
        "cli",
        "a code translation into a code the contract does not have",
        _config(FILES_SOURCE + "tables:\n  representations:\n    codes: {status: {O: ongoing}}\n"),
        Exits(2, "representations.status: maps to unknown code(s) ongoing"),
    ),
    BadInput(
        "config-unset-variable",
        "source configs",
        "cli",
        "a `${VARIABLE}` that is not set",
        _config(
            SQL_SOURCE.replace(
                f"postgresql://loader:{SECRET}@127.0.0.1:1/cases", "${NO_SUCH_CASE_SYSTEM_URL}"
            )
            + "tables: {}\n"
        ),
        Exits(2, "uses ${NO_SUCH_CASE_SYSTEM_URL}, which is not set in the environment"),
    ),
    BadInput(
        "config-landing-folder-missing",
        "source configs",
        "cli",
        "a files source whose landing folder does not exist",
        _config(
            FILES_SOURCE.replace("{folder}", "{folder}/no-such-landing") + "tables:\n  representations: {}\n"
        ),
        Exits(2, "no-such-landing does not exist"),
    ),
    BadInput(
        "config-source-unreachable",
        "source configs",
        "cli",
        "a SQL source whose database cannot be reached",
        _config(SQL_SOURCE + "tables:\n  representations: {from: cases}\n"),
        Exits(2, "Cannot reach source system council"),
    ),
    # --- Ombudsman annual statistics ---------------------------------------------------------------------
    BadInput(
        "stats-percentage-over-100",
        "Ombudsman statistics",
        "ombudsman",
        "a percentage over 100 (uphold rate 192)",
        _stats({"Uphold rate (%)": "192"}, {"uphold_rate_pct": "192"}),
        Quarantined("uphold_rate_pct above 100: 192", loaded=1),
    ),
    BadInput(
        "stats-negative-percentage",
        "Ombudsman statistics",
        "ombudsman",
        "a negative percentage",
        _stats({"Satisfactory remedy rate (%)": "-9"}, {"satisfactory_remedy_rate_pct": "-9"}),
        Quarantined("satisfactory_remedy_rate_pct below 0: -9", loaded=1),
    ),
    BadInput(
        "stats-count-in-words",
        "Ombudsman statistics",
        "ombudsman",
        "a count in words (`about 20`)",
        _stats({"Upheld": "about 20"}, {"upheld": "about 20"}),
        Quarantined("upheld is not a whole number: about 20", loaded=1),
    ),
    BadInput(
        "stats-more-upheld-than-investigated",
        "Ombudsman statistics",
        "ombudsman",
        "more upheld than detailed investigations",
        _stats({"Upheld": "30"}, {"upheld": "30"}),
        Quarantined("more upheld than detailed investigations", loaded=1),
    ),
    BadInput(
        "stats-investigations-do-not-add-up",
        "Ombudsman statistics",
        "ombudsman",
        "detailed investigations not equal to upheld + not upheld",
        _stats({"Detailed investigations": "30"}, {"detailed_investigations": "30"}),
        Quarantined("detailed investigations are not upheld + not upheld", loaded=1),
    ),
    BadInput(
        "stats-more-remedies-than-upheld",
        "Ombudsman statistics",
        "ombudsman",
        "more satisfactory remedies than upheld complaints",
        _stats({"Satisfactory remedy provided by authority": "25"}, {"satisfactory_remedies": "25"}),
        Quarantined("more satisfactory remedies than upheld", loaded=1),
    ),
    BadInput(
        "stats-unknown-authority",
        "Ombudsman statistics",
        "ombudsman",
        "an authority name the reference data does not know (`Worcs Council`)",
        _stats({"Authority": "Worcs Council"}, {"authority_name": "Worcs Council"}),
        Quarantined("authority not in the reference list of authorities and their name variants", loaded=1),
    ),
    BadInput(
        "stats-authority-not-in-existence",
        "Ombudsman statistics",
        "ombudsman",
        "an authority in a year it did not exist (Cumbria County Council in 2023/24)",
        _stats({"Authority": "Cumbria County Council", "Year": "2023-24"}, {"financial_year": "2023/24"}),
        Quarantined("authority did not exist in that financial year", loaded=1),
    ),
    BadInput(
        "stats-financial-year-malformed",
        "Ombudsman statistics",
        "ombudsman",
        "a financial year that is not one (`2022-24`)",
        _stats({"Year": "2022-24"}, {"financial_year": "2022/24"}),
        Quarantined("financial_year is not written like 2023/24", loaded=1),
    ),
    BadInput(
        "stats-rate-without-investigations",
        "Ombudsman statistics",
        "ombudsman",
        "an uphold rate for a year with no detailed investigations",
        _stats(
            {
                "Detailed investigations": "0",
                "Upheld": "0",
                "Not upheld": "0",
                "Satisfactory remedy provided by authority": "0",
            },
            {"detailed_investigations": "0", "uphold_rate_pct": "92"},
        ),
        Quarantined("an uphold rate is published for a year with no detailed investigations", loaded=1),
    ),
    BadInput(
        "stats-duplicate-council-year",
        "Ombudsman statistics",
        "ombudsman",
        "the same council and year twice with different figures",
        _stats({"Authority": "Oxfordshire County Council", "Year": "2023-24"}, {"financial_year": "2023/24"}),
        Quarantined("duplicate key in batch (authority_name, financial_year)", count=2, loaded=0),
    ),
    BadInput(
        "stats-unmapped-header",
        "Ombudsman statistics",
        "ombudsman",
        "a header no mapping version knows (`Cases upheld per councillor`): kept as published, never guessed",
        _stats_text(lambda text: text.replace("\n", ",Cases upheld per councillor\n", 1)),
        Accepted(2, extra_columns=("unmapped_cases_upheld_per_councillor",)),
    ),
    BadInput(
        "stats-unmapped-label",
        "Ombudsman statistics",
        "ombudsman",
        "an authority type no mapping version knows (`Parish`)",
        _stats({"Authority type": "Parish"}),
        Refused("unmapped authority_type label 'Parish' in row 3"),
    ),
    BadInput(
        "stats-missing-required-column",
        "Ombudsman statistics",
        "ombudsman",
        "no financial year column",
        _stats_text(
            lambda text: (
                "\n".join(",".join(line.split(",")[:2] + line.split(",")[3:]) for line in text.splitlines())
                + "\n"
            )
        ),
        Refused("no column for financial_year"),
    ),
    BadInput(
        "stats-two-header-rows",
        "Ombudsman statistics",
        "ombudsman",
        "the header row repeated below itself",
        _stats_text(lambda text: text.split("\n", 1)[0] + "\n" + text),
        Refused("two header rows: row 2 repeats the headers of row 1"),
    ),
    BadInput(
        "stats-totals-row",
        "Ombudsman statistics",
        "ombudsman",
        "a totals row under the councils",
        _stats_text(lambda text: text + "Total,,2023-24,61,56,5,92,,,,,,,,\n"),
        Refused("row 4 is a totals row ('Total')"),
    ),
    BadInput(
        "stats-value-without-header",
        "Ombudsman statistics",
        "ombudsman",
        "a value in a column with no header",
        _stats_text(lambda text: text.replace("\n", ",\n", 1).replace("4.5\n", "4.5,note\n")),
        Refused("row 2 has a value ('note') in a column with no header"),
    ),
    BadInput(
        "stats-value-beyond-header",
        "Ombudsman statistics",
        "ombudsman",
        "a row longer than the header",
        _stats_text(lambda text: text.replace("4.5\n", "4.5,note\n")),
        Refused("row 2 has values beyond the last header column"),
    ),
    BadInput(
        "stats-zero-byte",
        "Ombudsman statistics",
        "ombudsman",
        "a zero-byte file",
        _stats_text(lambda text: ""),
        Refused("the file is empty (expected a header row)"),
    ),
    BadInput(
        "stats-not-utf8",
        "Ombudsman statistics",
        "ombudsman",
        "a file saved in Latin-1",
        _stats_text(lambda text: text.replace("Oxfordshire", "Oxfordshire\xe9").encode("latin-1")),
        Refused("the file is not UTF-8 text"),
        notes="A published file is refused whole: a council's name must never be guessed.",
    ),
    BadInput(
        "stats-gzip-named-csv",
        "Ombudsman statistics",
        "ombudsman",
        "a gzip-compressed download named `.csv`",
        _stats_text(b.gzip_of),
        Refused("the file is gzip-compressed, not CSV text: decompress it first"),
    ),
    BadInput(
        "stats-csv-named-xlsx",
        "Ombudsman statistics",
        "ombudsman",
        "a CSV named `.xlsx`",
        _stats_text(lambda text: text, name="annual_statistics.xlsx"),
        Refused("the file is named .xlsx but is not an XLSX workbook"),
    ),
    BadInput(
        "stats-xlsx-ambiguous-sheets",
        "Ombudsman statistics",
        "ombudsman",
        "a workbook with two sheets, neither named as the statistics",
        _stats_workbook(lambda: _stats_sheets("2022-23", "2023-24")),
        Refused(
            "the workbook has 2 sheets ('2022-23', '2023-24') and none of them is named as the statistics sheet"
        ),
    ),
    BadInput(
        "stats-xlsx-corrupt",
        "Ombudsman statistics",
        "ombudsman",
        "a truncated workbook",
        _stats_workbook(lambda: b.truncated_xlsx({"Statistics": [STATS_HEADER]})),
        Refused("the file is not a readable XLSX workbook"),
    ),
    BadInput(
        "stats-xlsx-password-protected",
        "Ombudsman statistics",
        "ombudsman",
        "a password-protected workbook",
        _stats_workbook(b.encrypted_workbook),
        Refused("the workbook is password-protected (encrypted): save it without a password"),
    ),
    # --- Ombudsman decisions and the council's case-by-case spreadsheets --------------------------------
    BadInput(
        "decision-bad-reference",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "a reference too short to be one (`22 001 24`)",
        _published("decisions", {"Reference": "22 001 24"}, {"reference": "22 001 24"}),
        Quarantined("reference is not an Ombudsman reference like 22 001 239"),
    ),
    BadInput(
        "decision-unknown-authority",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "a decision about an authority the reference data does not know",
        _published(
            "decisions", {"Authority": "Borsetshire Council"}, {"authority_name": "Borsetshire Council"}
        ),
        Quarantined("authority not in the reference list"),
    ),
    BadInput(
        "decision-impossible-date",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "a decision date that does not exist (`31/02/2023`)",
        _published("decisions", {"Decision date": "31/02/2023"}, {"decision_date": "2023-02-31"}),
        Quarantined("decision_date is not a date: 2023-02-31"),
    ),
    BadInput(
        "decision-duplicate-reference",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "the same reference twice in one file",
        _published("decisions", {}, {"reference": "22 014 880"}, copies=2),
        Quarantined("duplicate key in batch (reference)", count=2),
    ),
    BadInput(
        "decision-unmapped-outcome",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "a decision label no mapping version knows (`Sort of upheld`)",
        _published("decisions", {"Decision": "Sort of upheld"}, {}),
        Refused("unmapped decision label 'Sort of upheld' in row 4"),
    ),
    BadInput(
        "council-case-decided-before-received",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "a case decided before the Ombudsman received it",
        _published("council_cases", {"Date received": "01/02/2024"}, {"received_date": "2024-02-01"}),
        Quarantined("decided before it was received"),
    ),
    BadInput(
        "council-case-unmapped-compliance",
        "Ombudsman decisions and case spreadsheets",
        "ombudsman",
        "a compliance outcome no mapping version knows (`Sort of`)",
        _published("council_cases", {"Compliance outcome": "Sort of"}, {}),
        Refused("unmapped compliance_outcome label 'Sort of' in row 4"),
    ),
    # --- reference data ----------------------------------------------------------------------------------
    BadInput(
        "reference-bad-ons-code",
        "reference data",
        "reference",
        "an ONS code that is not a council's (`X10000030`)",
        _reference("authorities", {"ons_code": "X10000030"}),
        Quarantined("ons_code is not an ONS local authority code like E10000025"),
    ),
    BadInput(
        "reference-unknown-authority-type",
        "reference data",
        "reference",
        "an authority type the Ombudsman does not group by (`Parish`)",
        _reference("authorities", {"authority_type": "Parish"}),
        Quarantined("unknown authority_type code: Parish"),
    ),
    BadInput(
        "reference-valid-to-before-from",
        "reference data",
        "reference",
        "an authority that ended before it began",
        _reference("authorities", {"valid_from": "2023-04-01", "valid_to": "2020-03-31"}),
        Quarantined("valid_to before valid_from"),
    ),
    BadInput(
        "reference-name-variant-twice",
        "reference data",
        "reference",
        "one name variant given twice",
        _reference("authority_names", {"authority_name": "Oxfordshire"}, copies=2),
        Quarantined("duplicate key in batch (authority_name)", count=2),
    ),
    BadInput(
        "reference-population-zero",
        "reference data",
        "reference",
        "a population of 0",
        _reference("population", {"population": "0"}),
        Quarantined("population below 1: 0"),
    ),
    BadInput(
        "reference-population-year-out-of-range",
        "reference data",
        "reference",
        "a mid-year that cannot be (`20223`)",
        _reference("population", {"mid_year": "20223"}),
        Quarantined("mid_year above 2100: 20223"),
    ),
    BadInput(
        "reference-ons-file-without-header",
        "reference data",
        "reference",
        "an ONS mid-year estimates file without its `Code` / `All ages` header",
        _mid_year_estimates_without_header,
        Refused("no header row with 'Code' and 'All ages' in the first 20 lines"),
    ),
    # --- settings: exit 2 with what to fix, never a traceback or a password -------------------------------
    BadInput(
        "url-not-postgresql",
        "settings",
        "cli",
        "`WAREHOUSE_URL` for another database product",
        _cli("db", "init", WAREHOUSE_URL=f"mysql://root:{SECRET}@localhost/warehouse"),
        Exits(2, "WAREHOUSE_URL must be a PostgreSQL URL"),
    ),
    BadInput(
        "url-no-database",
        "settings",
        "cli",
        "`WAREHOUSE_URL` without a database",
        _cli("db", "init", WAREHOUSE_URL=f"postgresql://loader:{SECRET}@localhost:5432"),
        Exits(2, "WAREHOUSE_URL names no database"),
    ),
    BadInput(
        "url-malformed-port",
        "settings",
        "cli",
        "`WAREHOUSE_URL` with a port that is not a number",
        _cli("db", "init", WAREHOUSE_URL=f"postgresql://loader:{SECRET}@localhost:port/warehouse"),
        Exits(2, "WAREHOUSE_URL is not a valid PostgreSQL URL"),
    ),
    BadInput(
        "url-unreachable-host",
        "settings",
        "cli",
        "`WAREHOUSE_URL` naming a host nothing listens on",
        _cli("db", "init", WAREHOUSE_URL=f"postgresql://loader:{SECRET}@127.0.0.1:1/warehouse"),
        Exits(
            2, "Cannot connect to the warehouse (PostgreSQL at 127.0.0.1:1, database warehouse, user loader)"
        ),
    ),
    BadInput(
        "url-unknown-database",
        "settings",
        "cli",
        "`WAREHOUSE_URL` naming a database the server does not have",
        _cli_with(lambda ctx: {"WAREHOUSE_URL": ctx.warehouse_url("no_such_warehouse")}, "db", "init"),
        Exits(2, 'database "no_such_warehouse" does not exist'),
    ),
    BadInput(
        "embedded-off-without-url",
        "settings",
        "cli",
        "`WAREHOUSE_EMBEDDED=0` and no `WAREHOUSE_URL`",
        _cli("db", "init", WAREHOUSE_EMBEDDED="0", WAREHOUSE_URL=""),
        Exits(2, "WAREHOUSE_URL is not set and the embedded PostgreSQL is switched off"),
    ),
    BadInput(
        "embedded-flag-not-yes-no",
        "settings",
        "cli",
        "`WAREHOUSE_EMBEDDED=maybe`",
        _cli("db", "init", WAREHOUSE_EMBEDDED="maybe"),
        Exits(2, "WAREHOUSE_EMBEDDED='maybe' is not a yes/no value"),
    ),
    BadInput(
        "embedded-database-name",
        "settings",
        "cli",
        "`WAREHOUSE_EMBEDDED_DATABASE` that is not a plain name",
        _cli("db", "init", WAREHOUSE_EMBEDDED_DATABASE="warehouse; drop"),
        Exits(2, "must be letters, digits and underscores only"),
    ),
    BadInput(
        "pseudonym-key-missing-with-url",
        "settings",
        "cli",
        "`WAREHOUSE_URL` set but no `WAREHOUSE_PSEUDONYM_KEY`",
        _cli_with(
            lambda ctx: {"WAREHOUSE_URL": ctx.warehouse_url(None), "WAREHOUSE_PSEUDONYM_KEY": ""},
            "load",
            "sample",
        ),
        Exits(2, "WAREHOUSE_PSEUDONYM_KEY is not set"),
    ),
    BadInput(
        "pseudonym-key-too-short",
        "settings",
        "cli",
        "a `WAREHOUSE_PSEUDONYM_KEY` too short to be a secret",
        _cli("load", "sample", WAREHOUSE_PSEUDONYM_KEY="short"),
        Exits(2, "WAREHOUSE_PSEUDONYM_KEY must be at least 16 characters long"),
    ),
    BadInput(
        "sources-missing-file",
        "settings",
        "cli",
        "`WAREHOUSE_SOURCES` naming a file that does not exist",
        _cli_with(lambda ctx: {"WAREHOUSE_SOURCES": str(ctx.folder / "no-such-source.yml")}, "load"),
        Exits(2, "no-such-source.yml: the file does not exist"),
    ),
    # --- the command line ----------------------------------------------------------------------------------
    BadInput(
        "cli-unknown-source-system",
        "CLI",
        "cli",
        "`load` of a source system nobody configured",
        _cli("load", "nosuch"),
        Exits(2, "No configured source system is called 'nosuch'"),
    ),
    BadInput(
        "cli-month-malformed",
        "CLI",
        "cli",
        "`publish --month 2024-13`",
        _cli("publish", "--month", "2024-13"),
        Exits(2, "'2024-13' is not a month like 2024-03"),
    ),
    BadInput(
        "cli-backfill-date-malformed",
        "CLI",
        "cli",
        "`backfill --start 2024-02-30`",
        _cli("backfill", "sample", "--start", "2024-02-30", "--end", "2024-03-31"),
        Exits(2, "'2024-02-30' is not a day like 2024-03-31"),
    ),
    BadInput(
        "cli-backfill-end-before-start",
        "CLI",
        "cli",
        "`backfill` whose end is before its start",
        _cli("backfill", "sample", "--start", "2024-03-01", "--end", "2024-02-01"),
        Exits(2, "The backfill's --end must be after its --start"),
    ),
    BadInput(
        "cli-backfill-files-source",
        "CLI",
        "cli",
        "`backfill` of a files source",
        _cli("backfill", "sample", "--start", "2024-01-01", "--end", "2024-01-31"),
        Exits(2, "a files source is backfilled by dropping the files again"),
    ),
    BadInput(
        "cli-from-missing-folder",
        "CLI",
        "cli",
        "`load case_system --from` a folder that does not exist",
        _cli_with(lambda ctx: {}, "load", "case_system", "--from", "/nonexistent/extract"),
        Exits(3, "Refused /nonexistent/extract: the extract folder does not exist"),
    ),
    BadInput(
        "cli-from-folder-without-extracts",
        "CLI",
        "cli",
        "`load case_system --from` a folder with no extract files",
        _cli_empty_folder,
        Exits(3, "no extract files found (expected service_areas.csv"),
    ),
    BadInput(
        "cli-refused-file",
        "CLI",
        "cli",
        "`load case_system --from` a folder whose extract is refused",
        _cli_refused_file,
        Exits(3, "the file is empty (expected a CSV header row)"),
        notes="Exit 3, and the refusal is in the ledger like any other.",
    ),
)

from .money_entries import ENTRIES as MONEY_ENTRIES  # noqa: E402
from .ombudsman_figures_entries import ENTRIES as OMBUDSMAN_FIGURES_ENTRIES  # noqa: E402
from .ombudsman_national_entries import ENTRIES as OMBUDSMAN_NATIONAL_ENTRIES  # noqa: E402
from .operations_entries import ENTRIES as OPERATIONS_ENTRIES  # noqa: E402
from .settings_entries import ENTRIES as SETTINGS_ENTRIES  # noqa: E402
from .values_entries import ENTRIES as VALUES_ENTRIES  # noqa: E402
from .versions_entries import ENTRIES as VERSIONS_ENTRIES  # noqa: E402

CATALOGUE = (
    *CATALOGUE,
    *VALUES_ENTRIES,
    *VERSIONS_ENTRIES,
    *OPERATIONS_ENTRIES,
    *OMBUDSMAN_FIGURES_ENTRIES,
    *OMBUDSMAN_NATIONAL_ENTRIES,
    *MONEY_ENTRIES,
    *SETTINGS_ENTRIES,
)

BY_ID = {entry.id: entry for entry in CATALOGUE}
assert len(BY_ID) == len(CATALOGUE), "catalogue ids must be unique"
