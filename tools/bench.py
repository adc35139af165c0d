"""``make bench``: the load measured against its practical limit (bare COPY) and a naive peer (to_sql).

All three load the same CSV extract, exported once from a simulated case system through the demo's own
mapping; they run one after another in the same run on the same server, so their ratios are fair even
on a noisy machine. Figures go to the screen and to ``bench-results.json`` at the repository root.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from complaints_warehouse import simulated_source
from complaints_warehouse.outputs import write_atomic
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import database
from complaints_warehouse.warehouse.bootstrap import bootstrap
from complaints_warehouse.warehouse.database import Connection
from ingestion.adapters import sql_adapter
from ingestion.case_system.contract import REPRESENTATIONS, STAGES_TABLE
from ingestion.source_config import load_source_config

Echo = Callable[[str], None]
PER_COUNCIL_YEAR = 1_300
# pandas reads the extract in chunks: whole, a national extract would need most of the machine's memory.
TO_SQL_CHUNK_ROWS = 250_000


def results_path(settings: Settings) -> Path:
    return settings.project_dir / "bench-results.json"


def record(settings: Settings, figures: dict) -> dict:
    """Merge ``figures`` into bench-results.json (other benchmarks write their own keys there)."""
    path = results_path(settings)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    write_atomic(path, json.dumps(current, indent=2, sort_keys=True) + "\n")
    return current


def drop_database(target: Connection, name: str) -> None:
    """Drop the scratch database ``name`` on ``target``'s server, closing its connections."""
    with database.connect(target, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _scratch_database(target: Connection, name: str) -> Connection:
    drop_database(target, name)
    with database.connect(target, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    scratch = dataclasses.replace(target, dbname=name, role=None)  # the same login and role logins
    bootstrap(scratch)
    return scratch


def export_extract(
    settings: Settings,
    target: Connection,
    representations: int,
    folder: Path,
    echo: Echo,
    source_database: str | None = None,
) -> dict:
    """Export representations and stages as the SQL adapter would extract them (mapped to the contract)
    to CSV files, from ``source_database`` (a simulated system already made) or else from a system
    simulated here with enough council-years for ``representations`` cases."""
    if source_database is None:
        source_database = "bench_case_system"
        council_years = max(1, round(representations / PER_COUNCIL_YEAR))
        years = min(10, council_years)
        councils = max(1, round(council_years / years))
        sim = simulated_source.simulator(target, source_database)
        echo(
            f"Simulating {councils} council(s) x {years} year(s) (about {councils * years * PER_COUNCIL_YEAR:,} representations)"
        )
        started = time.perf_counter()
        sim.create(
            councils_count=councils,
            start=date(2024 - years, 4, 1),
            until=date(2024, 3, 31),
            seed=2024,
            progress=lambda n: echo(f"  {n:,} cases simulated") if n % 200_000 == 0 else None,
        )
        echo(f"  simulated in {time.perf_counter() - started:.0f} s")
    config = load_source_config(settings.project_dir / "ingestion" / "sources" / "case_system_simulator.yml")
    engine = sql_adapter.engine_for(
        type(config)(
            **{
                **config.__dict__,
                "url": target.other_database(source_database).sqlalchemy_url(),
            }
        )
    )
    rows = {}
    for contract in (REPRESENTATIONS, STAGES_TABLE):
        mapping = config.table(contract.name)
        table = sql_adapter._reflect(engine, mapping, config)
        query, _ = sql_adapter.build_query(table, mapping, config)
        path = folder / f"{contract.name}.csv"
        with path.open("wb") as handle:
            for chunk in sql_adapter._copy_out(engine, query):
                handle.write(chunk)
        with path.open("rb") as handle:
            rows[contract.name] = sum(1 for _ in handle) - 1
    engine.dispose()
    return rows


PEAK_PROBE = (
    "\nimport re\n"
    "print('PEAK_KB', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
)


def _child(code: str, env: dict) -> tuple[float, float]:
    """Run ``code`` in a fresh Python; return (seconds, its peak resident memory in MB).

    The child reports its own high-water mark (VmHWM): the rusage of a forked child would count the
    parent's memory at the fork, before the child's own program replaced it.
    """
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + PEAK_PROBE], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{done.stderr[-3000:]}")
    peak_kb = int(done.stdout.rsplit("PEAK_KB", 1)[1].split()[0])
    return elapsed, peak_kb / 1024


def _load_code(target: Connection, paths: list[Path]) -> str:
    return (
        "import psycopg\n"
        "from ingestion.copy_loader import load_file\n"
        "from ingestion.case_system.contract import REPRESENTATIONS, STAGES_TABLE\n"
        f"conn = psycopg.connect({target.conninfo!r}, autocommit=True)\n"
        + "".join(
            f"load_file(conn, {c}, {str(p)!r}, source_system='bench', pseudonym_key='bench-key-0123456789')\n"
            for c, p in zip(("REPRESENTATIONS", "STAGES_TABLE"), paths, strict=False)
        )
    )


def _bare_copy(target: Connection, paths: list[Path]) -> float:
    """The practical limit: COPY the same files into typed tables with no checks at all."""
    started = time.perf_counter()
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        for contract, path in zip((REPRESENTATIONS, STAGES_TABLE), paths, strict=True):
            name = sql.Identifier("bench_copy_" + contract.name)
            conn.execute(sql.SQL("drop table if exists {}").format(name))
            columns = [c for c in contract.columns if c.name in path.open().readline().strip().split(",")]
            conn.execute(
                sql.SQL("create table {} ({})").format(
                    name,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in columns
                    ),
                )
            )
            with (
                conn.cursor().copy(
                    sql.SQL("copy {} from stdin (format csv, header true)").format(name)
                ) as copy,
                path.open("rb") as handle,
            ):
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    copy.write(chunk)
    return time.perf_counter() - started


def _to_sql_code(target: Connection, paths: list[Path]) -> str:
    return (
        "import pandas, sqlalchemy\n"
        f"engine = sqlalchemy.create_engine({target.sqlalchemy_url('psycopg')!r})\n"
        + "".join(
            f"for n, chunk in enumerate(pandas.read_csv({str(p)!r}, dtype=str, chunksize={TO_SQL_CHUNK_ROWS})):\n"
            f"    chunk.to_sql('bench_to_sql_{i}', engine, if_exists='append' if n else 'replace', index=False)\n"
            for i, p in enumerate(paths)
        )
    )


def run(
    settings: Settings,
    target: Connection,
    *,
    representations: int = 1_000_000,
    source_database: str | None = None,
    echo: Echo = print,
) -> dict:
    """Measure the load (of ``source_database``'s representations and stages, or of a system simulated
    with about ``representations`` cases); print the figures and ratios; record them in bench-results.json."""
    env = {**os.environ, "PYTHONPATH": str(settings.project_dir)}
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        folder = Path(tmp)
        rows = export_extract(settings, target, representations, folder, echo, source_database)
        total = rows["representations"] + rows["stages"]
        paths = [folder / "representations.csv", folder / "stages.csv"]
        small = folder / "small"
        small.mkdir()
        for path in paths:  # a quarter of the extract, to show memory does not grow with it
            with path.open() as source, (small / path.name).open("w") as target_file:
                target_file.writelines(itertools.islice(source, 1 + rows[path.stem] // 4))
        echo(
            f"Extract: {rows['representations']:,} representations + {rows['stages']:,} stages = {total:,} rows"
        )

        ours = _scratch_database(target, "bench_load")
        load_s, load_rss = _child(_load_code(ours, paths), env)
        echo(
            f"  our load (COPY + contract checks + dedupe + ledger): {load_s:.1f} s, {total / load_s:,.0f} rows/s, peak {load_rss:.0f} MB"
        )
        small_db = _scratch_database(target, "bench_load_small")
        _, small_rss = _child(_load_code(small_db, [small / p.name for p in paths]), env)
        echo(f"  our load of a quarter of the extract: peak {small_rss:.0f} MB")

        copy_db = _scratch_database(target, "bench_copy")
        copy_s = _bare_copy(copy_db, paths)
        echo(f"  bare COPY into typed tables: {copy_s:.1f} s, {total / copy_s:,.0f} rows/s")

        naive_db = _scratch_database(target, "bench_to_sql")
        to_sql_s, to_sql_rss = _child(_to_sql_code(naive_db, paths), env)
        echo(
            f"  pandas read_csv + DataFrame.to_sql: {to_sql_s:.1f} s, {total / to_sql_s:,.0f} rows/s, peak {to_sql_rss:.0f} MB"
        )

    figures = {
        "load_rows": total,
        "load_rows_per_s": round(total / load_s),
        "copy_rows_per_s": round(total / copy_s),
        "load_vs_copy": round(copy_s / load_s, 3),
        "to_sql_rows_per_s": round(total / to_sql_s),
        "load_vs_to_sql": round(to_sql_s / load_s, 2),
        "load_peak_rss_mb": round(load_rss, 1),
        "load_peak_rss_mb_quarter_extract": round(small_rss, 1),
        "to_sql_peak_rss_mb": round(to_sql_rss, 1),
    }
    echo(
        f"Ratios: load/COPY = {figures['load_vs_copy']:.2f} (goal >= 0.70); load is {figures['load_vs_to_sql']:.1f}x "
        f"to_sql; peak memory {small_rss:.0f} MB at a quarter, {load_rss:.0f} MB at the whole extract"
    )
    record(settings, figures)
    echo(f"Wrote {results_path(settings)}")
    return figures


EMPTY_DAG = """
from airflow.sdk import dag

@dag(dag_id="empty", schedule=None)
def empty():
    pass

empty()
"""
# The same machinery our DAGs use (a TaskFlow task with an Asset outlet, a cron timetable), doing nothing:
# the difference between it and our files is what the project itself costs the DAG processor.
TASKFLOW_DAG = """
from datetime import datetime
from airflow.sdk import Asset, CronTriggerTimetable, dag, task

@dag(dag_id="taskflow", schedule=CronTriggerTimetable("0 2 * * *", timezone="Europe/London"), start_date=datetime(2026, 1, 1))
def taskflow():
    @task(outlets=[Asset(name="nothing", uri="nothing://nothing")])
    def nothing():
        pass

    nothing()

taskflow()
"""
PARSE_PROBE = """
import importlib.util, sys, time
import airflow.sdk  # the baseline every DAG file pays; measured apart
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_file", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print("PARSE_MS", (time.perf_counter() - started) * 1000)
"""


def dag_parse_times(settings: Settings, *, repeats: int = 5, echo: Echo = print) -> dict:
    """Milliseconds to execute each DAG file (after airflow.sdk is imported), next to an empty DAG file and
    a one-task TaskFlow DAG, each the median of fresh processes: what the DAG processor pays per file."""
    env = {**os.environ, "PYTHONPATH": str(settings.project_dir)}
    with tempfile.TemporaryDirectory(prefix="cw-parse-") as tmp:
        empty, taskflow = Path(tmp) / "empty_dag.py", Path(tmp) / "taskflow_dag.py"
        empty.write_text(EMPTY_DAG)
        taskflow.write_text(TASKFLOW_DAG)
        files = {"(empty DAG)": empty, "(one-task TaskFlow DAG with an asset)": taskflow} | {
            p.name: p for p in sorted((settings.project_dir / "dags").glob("*.py"))
        }
        times = {}
        for name, path in files.items():
            samples = []
            for _ in range(repeats):
                done = subprocess.run(
                    [sys.executable, "-c", PARSE_PROBE, str(path)], env=env, capture_output=True, text=True
                )
                if done.returncode != 0:
                    raise RuntimeError(f"parsing {path} failed:\n{done.stderr[-2000:]}")
                samples.append(float(done.stdout.rsplit("PARSE_MS", 1)[1].split()[0]))
            times[name] = round(sorted(samples)[len(samples) // 2], 1)
    baseline = times["(empty DAG)"]
    for name, ms in times.items():
        echo(
            f"  parse {name}: {ms:.1f} ms ({ms / baseline:.1f}x the empty DAG file)"
            if name != "(empty DAG)"
            else f"  parse {name}: {ms:.1f} ms"
        )
    record(settings, {"dag_parse_ms": times})
    return times
