"""Every entry of the bad-input catalogue (tests/bad_inputs), run for real: a real PostgreSQL, the real
loader through the pipeline's load steps, the real command line in a subprocess.

One warehouse serves the module: entries are independent (each has its own files, its own source system
and its own batches, and every check is scoped to them), so nothing one leaves behind can pass another.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from bad_inputs import doc
from bad_inputs.builders import Delivery
from bad_inputs.catalogue import (
    AREAS,
    CATALOGUE,
    SECRET,
    Accepted,
    BadInput,
    BuildContext,
    Exits,
    Quarantined,
    Refused,
)

from complaints_warehouse import load, pipeline
from complaints_warehouse.warehouse import database
from ingestion.copy_loader import RefusedFile
from ingestion.source_config import load_source_config

CLI = str(Path(sys.executable).with_name("complaints-warehouse"))


def quiet(line: str) -> None:
    pass


@pytest.fixture(scope="module")
def shared():
    """One warehouse for the module, with the bundled reference data the Ombudsman's checks match against."""
    from complaints_warehouse.settings import load_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_EMBEDDED_DATABASE", f"test_bad_inputs_{uuid.uuid4().hex[:8]}")
        settings = load_settings()
        target = pipeline.prepare(settings)
        load.load_source(target, "reference", settings.reference_dir)
        yield settings, target


def query(target, text: str, params=None) -> list[tuple]:
    with database.connect(target) as conn:
        return conn.execute(text, params).fetchall()


def contract_of(source: str, table: str):
    return next(t for t in load.SOURCES[source] if t.name == table)


def context(entry: BadInput, target, folder: Path) -> BuildContext:
    def url(dbname: str | None) -> str:
        on = dataclasses.replace(target, dbname=dbname or target.dbname)
        return on.sqlalchemy_url("psycopg").replace("postgresql+psycopg", "postgresql")

    def execute(statement: str) -> None:
        with database.connect(target, autocommit=True) as conn:
            conn.execute(statement)

    return BuildContext(folder, "bad_" + entry.id.replace("-", "_"), url, target.dbname, execute)


def case_system_load(entry, delivery: Delivery, ctx: BuildContext, settings, target, tmp_path):
    """A source system configured for this entry alone: its landing folder, or its database table."""
    if entry.route == "landing":
        where = f"adapter: files\nlanding: {ctx.folder}\n"
    else:
        where = f"adapter: sql\nurl: warehouse-server:{target.dbname}\n"
    tables = delivery.config or f"  {delivery.table}: {{from: {delivery.file.name}}}\n"
    path = tmp_path / "source.yml"
    path.write_text(f"source_system: {ctx.source_system}\ncontract: case_system\n{where}tables:\n{tables}")
    config = load_source_config(path)
    return lambda: pipeline.step_load_source_system(settings, target, config, echo=quiet)


def folder_load(entry, delivery: Delivery, ctx: BuildContext, settings, target, tmp_path):
    """The Ombudsman or reference folder, as the nightly run loads it (``reload``: each entry's content
    is new to this shared warehouse, but a canonical file equal to another entry's must still load)."""
    here = dataclasses.replace(settings, **{f"{entry.route}_dir": ctx.folder})
    return lambda: pipeline.step_load(here, target, entry.route, reload=True, echo=quiet)


def check_refused(expect: Refused, delivery: Delivery, run, target, source: str) -> None:
    name = delivery.ledger_name
    with pytest.raises(RefusedFile) as refused:
        run()
    assert expect.problem in refused.value.problem, refused.value.problem
    assert str(refused.value).startswith(f"Refused {name}: ")
    ledger = query(
        target,
        "select batch_id, status, message from audit.load_batches where source_file = %s",
        (name,),
    )
    assert [(status, expect.problem in (message or "")) for _, status, message in ledger] == [
        ("refused", True)
    ]
    contract = contract_of(source, delivery.table)
    batches = [row[0] for row in ledger]
    raw = query(
        target,
        f"select count(*) from {contract.raw_schema}.{contract.name} where _batch_id = any(%s)",
        (batches,),
    )
    kept = query(
        target, f"select count(*) from {contract.quarantine_table} where batch_id = any(%s)", (batches,)
    )
    assert (raw, kept) == ([(0,)], [(0,)]), "nothing from a refused file is loaded or quarantined"


def check_loaded(expect: Quarantined | Accepted, delivery: Delivery, run, target, source: str) -> None:
    results = [r for r in run() if r["file"] == delivery.ledger_name]
    assert len(results) == 1, results
    batch = results[0]
    count = expect.count if isinstance(expect, Quarantined) else 0
    loaded = expect.loaded
    assert batch["status"] == "loaded", batch
    assert (batch["rows_in"], batch["rows_loaded"], batch["rows_quarantined"]) == (
        loaded + count,
        loaded,
        count,
    )
    assert query(
        target,
        "select status, rows_in, rows_loaded, rows_quarantined from audit.load_batches where batch_id = %s",
        (batch["batch_id"],),
    ) == [("loaded", loaded + count, loaded, count)]
    contract = contract_of(source, delivery.table)
    raw = query(
        target,
        f"select count(*) from {contract.raw_schema}.{contract.name} where _batch_id = %s",
        (batch["batch_id"],),
    )[0][0]
    assert raw == loaded - batch["rows_unchanged"]
    kept = query(
        target,
        f"select reasons, raw_row from {contract.quarantine_table} where batch_id = %s",
        (batch["batch_id"],),
    )
    assert len(kept) == count
    if isinstance(expect, Accepted):
        assert batch["extra_columns"] == list(expect.extra_columns)
    if isinstance(expect, Quarantined):
        for reasons, _ in kept:
            assert any(r.startswith(expect.reason) for r in reasons), reasons
        # The quarantine keeps the row as delivered.
        assert delivery.raw, "a quarantined entry names the cells its quarantined row must keep"
        assert any(
            all((raw_row.get(k) or "") == v for k, v in delivery.raw.items()) for _, raw_row in kept
        ), (
            delivery.raw,
            kept,
        )


def check_exit(expect: Exits, delivery: Delivery, target) -> None:
    env = {**os.environ, **delivery.env}
    result = subprocess.run([CLI, *delivery.args], capture_output=True, text=True, env=env, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == expect.code, output
    assert expect.message in output
    assert "Traceback" not in output
    assert SECRET not in output
    if delivery.file is not None:  # a refused file is in the ledger, like any refusal
        assert query(
            target, "select status from audit.load_batches where source_file = %s", (delivery.ledger_name,)
        ) == [("refused",)]


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.id)
def test_bad_input(entry: BadInput, shared, tmp_path):
    settings, target = shared
    ctx = context(entry, target, tmp_path / "delivery")
    delivery = entry.build(ctx)
    expect = entry.expect
    if entry.route == "cli":
        check_exit(expect, delivery, target)
        return
    if entry.route in ("landing", "sql"):
        run, source = case_system_load(entry, delivery, ctx, settings, target, tmp_path), "case_system"
    else:
        run, source = folder_load(entry, delivery, ctx, settings, target, tmp_path), entry.route
    if isinstance(expect, Refused):
        check_refused(expect, delivery, run, target, source)
        if entry.route == "landing":  # moved aside with a note of why, so it is never processed again
            note = next((ctx.folder / "refused").rglob("*.refused.txt"))
            assert expect.problem in note.read_text() and not delivery.file.exists()
    else:
        check_loaded(expect, delivery, run, target, source)


def test_the_catalogue_covers_every_area_with_at_least_30_kinds():
    assert len(CATALOGUE) >= 30
    assert {entry.area for entry in CATALOGUE} == set(AREAS)


def test_the_catalogue_document_is_the_catalogue():
    assert doc.DOC.read_text() == doc.render(), "run: make bad-input-doc"


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"h\nr1\nr2\n\n\n"], b"h\nr1\nr2\n"),
        ([b"h\nr1\n", b"r2\n", b"\n", b"\r\n\n"], b"h\nr1\nr2\n"),
        ([b"h\r\nr1\r", b"\nr2\r\n\r\n"], b"h\r\nr1\r\nr2\r\n"),
        ([b"h\nr1\nr2"], b"h\nr1\nr2"),
    ],
)
def test_blank_lines_after_the_last_row_are_dropped_wherever_the_chunks_break(chunks, expected):
    from ingestion.copy_loader import _without_trailing_blank_lines

    assert b"".join(_without_trailing_blank_lines(iter(chunks))) == expected
