"""A load's progress line: a percentage only where the total is known (a file), MB and rate otherwise
(rows streamed from a source database, whose size nobody knows until the end)."""

from __future__ import annotations

import itertools

from complaints_warehouse import pipeline


def lines_for(monkeypatch, total: int) -> list[str]:
    clock = itertools.count(start=0.0, step=1.5)  # each call 1.5 s after the last
    monkeypatch.setattr(pipeline.time, "monotonic", lambda: next(clock))
    printed: list[str] = []
    report = pipeline.progress_printer(printed.append, "rms", every_s=1.0, quiet_s=2.0)
    report(0, total)
    for done in (1_000_000, 2_000_000, 3_000_000):
        report(done, total)
    return printed


def test_a_file_shows_its_percentage(monkeypatch):
    printed = lines_for(monkeypatch, total=3_000_000)
    assert printed[-1].startswith("  rms: 100.0% (3.0 of 3.0 MB")


def test_rows_from_a_database_show_how_much_so_far_never_a_false_percentage(monkeypatch):
    printed = lines_for(monkeypatch, total=0)
    assert printed, "a long stream reports its progress"
    assert all("%" not in line for line in printed), printed
    assert printed[-1].startswith("  rms: 3.0 MB so far (")
