"""The load benchmark at a small scale: it must keep running, and its figures must be sane.

The figures themselves are not asserted (a shared machine is noisy); `make bench` runs at full size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import bench

pytestmark = pytest.mark.slow


def test_bench_measures_our_load_bare_copy_and_to_sql_side_by_side(
    settings, warehouse, tmp_path, monkeypatch
):
    results = tmp_path / "bench-results.json"
    results.write_text(json.dumps({"incremental_vs_full": 0.05}))  # another benchmark's key is kept
    monkeypatch.setattr(bench, "results_path", lambda _settings: results)
    figures = bench.run(settings, warehouse, representations=2_600, echo=lambda line: None)
    written = json.loads(results.read_text())
    for key in (
        "load_rows_per_s",
        "copy_rows_per_s",
        "load_vs_copy",
        "to_sql_rows_per_s",
        "load_peak_rss_mb",
    ):
        assert written[key] == figures[key] and figures[key] > 0, key
    assert written["incremental_vs_full"] == 0.05
    assert figures["load_rows"] > 2_000  # representations and their stages


def test_dag_parse_benchmark_times_every_dag_file_next_to_an_empty_one(settings, tmp_path, monkeypatch):
    results = tmp_path / "bench-results.json"
    monkeypatch.setattr(bench, "results_path", lambda _settings: results)
    times = bench.dag_parse_times(settings, repeats=1, echo=lambda line: None)
    assert set(times) == {
        "(empty DAG)",
        "(one-task TaskFlow DAG with an asset)",
        "bmmr_monthly.py",
        "case_system_nightly.py",
        "ombudsman_open_data.py",
        "personal_data_retention.py",
        "reference_data.py",
    }
    assert all(ms > 0 for ms in times.values())
    assert json.loads(results.read_text())["dag_parse_ms"] == times


@dataclass
class NationalRun:
    figures: dict  # what ``national_bench.run`` returned
    written: dict  # bench-results.json as the run left it
    results: Path
    lines: list[str]


@pytest.fixture(scope="module")
def national(embedded_server, tmp_path_factory) -> NationalRun:
    """The whole national benchmark (source, load vs COPY, first night, our night, the naive peer's night)
    at 2 councils x 1 year, the second council copied in SQL: run once for the tests of its figures and of
    another night on its warehouse."""
    from conftest import TEST_DATABASE, drop_database

    from complaints_warehouse import pipeline
    from complaints_warehouse.settings import load_settings
    from tools import national_bench

    results = tmp_path_factory.mktemp("national_bench") / "bench-results.json"
    lines: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench, "results_path", lambda _settings: results)
        drop_database(embedded_server, TEST_DATABASE)
        mp.setenv("WAREHOUSE_EMBEDDED_DATABASE", TEST_DATABASE)
        settings = load_settings()
        target = pipeline.prepare(settings)
        figures = national_bench.run(settings, target, councils=2, years=1, templates=1, echo=lines.append)
    return NationalRun(figures, json.loads(results.read_text()), results, lines)


def test_national_bench_at_small_scale_records_every_figure_consistently(national):
    figures, written, lines = national.figures, national.written, national.lines
    for key in (
        "load_rows_per_s",
        "copy_rows_per_s",
        "load_vs_copy",
        "to_sql_rows_per_s",
        "load_peak_rss_mb",
        "full_build_s",
        "validation_vs_build",
        "incremental_vs_full",
        "naive_vs_ours",
        "source_rows_per_s",
    ):
        assert written[key] == figures[key] and figures[key] > 0, key
    assert figures["source_councils"] == 2 and figures["source_cases"] > 2_000
    # Two councils in one case system: their service areas stay distinct, nothing of theirs quarantined.
    assert figures["full_load_quarantined"] == 0
    # The load and the bare COPY read the same rows of the same source: their rates compare like for like.
    assert figures["load_rows"] == figures["copy_rows"] > figures["source_cases"]
    assert figures["load_vs_copy"] == pytest.approx(
        figures["load_rows_per_s"] / figures["copy_rows_per_s"], rel=0.01
    )
    steps = {
        "bare_copy",
        "full_load",
        "full_build",
        "full_validation",
        "night_load",
        "night_build",
        "night_validation",
        "naive_reload",
        "naive_build",
    }
    assert set(written["peak_rss_mb"]) == set(written["step_s"]) == steps
    # Where each build's time went: its ten slowest dbt nodes, slowest first, from dbt's run_results.json.
    for build in ("full_build_slowest", "night_build_slowest"):
        slowest = written[build]
        # dbt's unique ids: model., test., seed., snapshot. or operation. (a hook), then the project.
        assert len(slowest) == 10 and all(n["node"].split(".")[1] == "complaints_warehouse" for n in slowest)
        seconds = [n["s"] for n in slowest]
        assert seconds == sorted(seconds, reverse=True) and seconds[0] > 0
    assert written["dbt_threads"] >= 1
    assert all(mb > 0 for mb in written["peak_rss_mb"].values())
    # dbt runs in a child of the step's process: its memory is counted (dbt alone takes well over 50 MB).
    assert written["peak_rss_mb"]["full_build"] > 50
    s = figures["step_s"]
    assert figures["ours_night_s"] == pytest.approx(
        s["night_load"] + s["night_build"] + s["night_validation"], abs=0.02
    )
    assert figures["naive_night_s"] == pytest.approx(s["naive_reload"] + s["naive_build"], abs=0.02)
    assert figures["naive_vs_ours"] == pytest.approx(
        figures["naive_night_s"] / figures["ours_night_s"], rel=0.01
    )
    assert figures["validation_vs_build"] == pytest.approx(s["full_validation"] / s["full_build"], rel=0.01)
    assert figures["incremental_vs_full"] == pytest.approx(s["night_build"] / s["full_build"], rel=0.01)
    # The night read the change (and the overlap window), not the whole source; the peer reloaded it all.
    assert 0 < figures["night_rows_in"] < figures["source_rows"] / 2
    assert figures["naive_rows"] > figures["source_cases"]
    assert sum(figures["change_cases"].values()) > 0
    assert any("naive" in line for line in lines)

    # Validation was timed next to the build, on the same warehouse: the whole checkpoint, on every case.
    assert figures["build_s"] == s["full_build"] > 0 and figures["validation_s"] == s["full_validation"] > 0
    assert figures["validation_expectations"] > 20
    assert figures["validation_representations"] == figures["source_cases"] > 1000
    # The first night built every fact whole; our night recomputed only the cases the change touched.
    assert figures["full_build_rebuilt_all"]
    assert figures["incremental_cases"] > 1000
    assert not figures["incremental_rebuilt_all"]
    assert 0 < figures["incremental_cases_recomputed"] < figures["incremental_cases"] / 2


def test_another_night_on_the_national_run_is_recorded_beside_it(national, settings, warehouse, monkeypatch):
    """Another night on the same warehouse: its steps recorded beside the run's, its checkpoint all passed."""
    from tools import national_bench

    figures, lines = national.figures, []
    monkeypatch.setattr(bench, "results_path", lambda _settings: national.results)
    night = national_bench.another_night(settings, warehouse, echo=lines.append)
    written = json.loads(national.results.read_text())
    assert written["another_night"] == night and written["naive_vs_ours"] == figures["naive_vs_ours"]
    assert (
        set(night["step_s"]) == set(night["peak_rss_mb"]) == {"night_load", "night_build", "night_validation"}
    )
    assert night["ours_night_s"] == pytest.approx(sum(night["step_s"].values()), abs=0.02)
    assert 0 < night["night_rows_in"] < figures["source_rows"] / 2
    assert (
        night["validation_passed"] == night["validation_expectations"] == figures["validation_expectations"]
    )
    assert night["naive_night_s_of_last_run"] == figures["naive_night_s"]
    assert any("not measured side by side" in line for line in lines)


def test_another_night_needs_a_national_run_first(settings, warehouse, monkeypatch):
    from tools import national_bench

    # The test server may hold the national run's databases (left for another night): without its
    # warehouse there is no night.
    monkeypatch.setattr(national_bench, "WAREHOUSE_DATABASE", "bench_national_never_run")
    with pytest.raises(RuntimeError, match="run `make bench`"):
        national_bench.another_night(settings, warehouse, echo=lambda line: None)
