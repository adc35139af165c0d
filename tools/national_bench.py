"""``make bench`` at national scale: a whole night of the warehouse against a naive peer, on the same data.

One run, on one server, step after step, so every ratio compares figures measured side by side:

1. the source: a simulated case system of ``councils`` x ``years`` (a few template councils simulated
   in Python, copied set-based in SQL to the rest: ``case_system_simulator.scale``);
2. the practical limit of a load: every case-system table COPYed from the source, with the query the SQL
   adapter runs, straight into typed tables with no checks, history or ledger (``bare_copy``);
3. a full night into an empty warehouse: every table through the SQL adapter (its case-system part, the
   same rows as the bare COPY, gives ``load_vs_copy``), then ``dbt build``, then the nightly checkpoint
   (``validation_vs_build``);
4. 0.5 % of the cases changed at the source (late corrections, cases registered late, deletions), then our
   night: the incremental load, the nightly ``dbt build`` and the checkpoint (``incremental_vs_full``: the
   night's build per second of the first night's full build);
5. the naive peer on the same changed source: pandas ``read_sql`` + ``to_sql`` of every table, reloaded
   whole (its rows per second against our full load's give ``load_vs_to_sql``), and
   ``dbt build --full-refresh`` (``naive_vs_ours``: how many times faster our night is).

Every load figure is measured on the whole national source: no sample, and no second load of it.

Each step runs in a child process: its ``peak_rss_mb`` is the larger of that process's own peak resident
memory and that of its largest child (dbt). The PostgreSQL server's memory is not counted: its backends
are the server's processes, not ours.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import date

from complaints_warehouse import simulated_source
from complaints_warehouse.settings import Settings, dbt_threads
from complaints_warehouse.warehouse.database import Connection
from tools import bench
from tools.bench import Echo

SOURCE_DATABASE = "bench_national_source"
WAREHOUSE_DATABASE = "bench_national"
NAIVE_DATABASE = "bench_naive"
BARE_COPY_DATABASE = "bench_bare_copy"
TEMPLATE_COUNCILS = 10
CHANGE_SHARE = 0.005
NAIVE_CHUNK_ROWS = 200_000  # the peer reads in chunks, or a national extract would not fit in memory
LAST_DAY = date(2024, 3, 31)


def national_source(
    target: Connection, councils: int, years: int, *, templates: int = TEMPLATE_COUNCILS, echo: Echo = print
) -> dict:
    """Simulate ``min(templates, councils)`` councils over ``years`` in Python, then copy them in SQL to
    ``councils``; time both. Returns the figures (seconds, cases and stage rows)."""
    from tools import simulator_scale as scale

    sim = simulated_source.simulator(target, SOURCE_DATABASE)
    simulated = min(templates, councils)
    echo(f"Source: {councils} councils x {years} years ({simulated} simulated, the rest copied in SQL)")
    started = time.perf_counter()
    sim.create(
        councils_count=simulated,
        start=date(LAST_DAY.year - years, 4, 1),
        until=LAST_DAY,
        seed=2024,
        progress=lambda n: echo(f"  {n:,} cases simulated") if n % 100_000 == 0 else None,
    )
    simulate_s = time.perf_counter() - started
    started = time.perf_counter()
    counts = scale.replicate_councils(sim.conninfo, councils)
    replicate_s = time.perf_counter() - started
    rows = sum(counts.values())
    echo(
        f"  {counts['cases']:,} cases, {counts['case_stages']:,} stages, {rows:,} rows in all: simulated "
        f"in {simulate_s:.1f} s, copied to {councils} councils in {replicate_s:.1f} s "
        f"({rows / (simulate_s + replicate_s):,.0f} rows/s)"
    )
    return {
        "source_councils": councils,
        "source_years": years,
        "source_cases": counts["cases"],
        "source_stages": counts["case_stages"],
        "source_rows": rows,
        "source_simulate_s": round(simulate_s, 2),
        "source_replicate_s": round(replicate_s, 2),
        "source_rows_per_s": round(rows / (simulate_s + replicate_s)),
    }


# -- the steps, each run in a child process --------------------------------------------------------


def _plain(target: Connection) -> dict:
    """``target`` as a child process's argument: where it is, without its role logins (passwords never
    go on a command line; the child reads them from its settings)."""
    return {k: v for k, v in dataclasses.asdict(target).items() if k != "logins"}


def _settings_and_target(target: dict) -> tuple[Settings, Connection]:
    from complaints_warehouse.settings import load_settings

    settings = load_settings()
    return settings, Connection(**target, logins=settings.roles)  # a child's target: ``_plain``


def _source_config(settings: Settings):
    from ingestion.source_config import load_source_config

    config = load_source_config(settings.project_dir / "ingestion" / "sources" / "case_system_simulator.yml")
    return dataclasses.replace(config, url=f"warehouse-server:{SOURCE_DATABASE}")


def step_load(target: dict) -> dict:
    """Reference and Ombudsman data, then the case system through the SQL adapter (incrementally: the
    first night reads every row)."""
    from complaints_warehouse import load

    settings, warehouse = _settings_and_target(target)
    rows = 0
    for source in ("reference", "ombudsman"):
        rows += sum(r.rows_in for r in load.load_source(warehouse, source, settings.source_dir(source)))
    started = time.perf_counter()
    results = load.load_source_system(settings, warehouse, _source_config(settings))
    case_system_s = time.perf_counter() - started
    return {
        "case_system_s": round(case_system_s, 3),
        "rows": rows + sum(r.rows_in for r in results),
        "case_system_rows": sum(r.rows_in for r in results),
        "quarantined": sum(r.rows_quarantined for r in results),
        "deleted": sum(r.rows_deleted for r in results),
    }


def step_bare_copy(target: dict, copy: dict) -> dict:
    """The practical limit of a load: each case-system table streamed from the source with the SQL
    adapter's own query (``COPY (query) TO STDOUT``) into ``COPY ... FROM STDIN`` of a typed table, with
    no checks, no history and no ledger."""
    import psycopg
    from psycopg import sql

    from complaints_warehouse.load import resolve_source_url
    from ingestion.adapters import sql_adapter

    settings, warehouse = _settings_and_target(target)
    config = resolve_source_url(_source_config(settings), warehouse)
    source = sql_adapter.engine_for(config)
    rows, seconds = 0, 0.0
    with psycopg.connect(Connection(**copy).conninfo, autocommit=True) as conn:
        for mapping in config.tables:
            query, header = sql_adapter.build_query(
                sql_adapter._reflect(source, mapping, config), mapping, config
            )
            types = {c.name: c.sql_type for c in mapping.contract.columns}
            table = sql.Identifier("bare_copy_" + mapping.contract.name)
            conn.execute(
                sql.SQL("create table {} ({})").format(
                    table,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(types.get(name, "text")))
                        for name in header
                    ),
                )
            )
            started = time.perf_counter()
            cursor = conn.cursor()
            with cursor.copy(sql.SQL("copy {} from stdin (format csv, header true)").format(table)) as out:
                for chunk in sql_adapter._copy_out(source, query):
                    out.write(chunk)
            seconds += time.perf_counter() - started
            rows += cursor.rowcount
    source.dispose()
    return {"rows": rows, "copy_s": round(seconds, 3)}


def step_build(target: dict, full_refresh: bool = False) -> dict:
    """The pipeline's transform step, as the nightly run calls it."""
    from complaints_warehouse import pipeline
    from complaints_warehouse.warehouse.database import connect

    settings, warehouse = _settings_and_target(target)
    built = pipeline.step_transform(settings, warehouse, full_refresh=full_refresh, echo=lambda line: None)
    with connect(warehouse) as conn:
        cases = conn.execute("select count(*) from marts.fct_representations").fetchone()[0]
        # What the build's incremental facts recomputed (its own watermarks): the cases of the fact of
        # cases, and whether any fact was rebuilt whole.
        recomputed, rebuilt_all = conn.execute(
            "select coalesce(sum(changed_cases) filter (where model = 'marts.fct_representations'), 0), "
            "coalesce(bool_or(rebuilt_all), false) from audit.incremental_watermarks where invocation_id = ("
            "select invocation_id from audit.incremental_watermarks order by started_at desc limit 1)"
        ).fetchone()
    return {
        "nodes": sum(built["counts"].values()),
        "slowest": built["slowest"],
        "cases": cases,
        "cases_recomputed": int(recomputed),
        "rebuilt_all": bool(rebuilt_all),
    }


def step_validate(target: dict) -> dict:
    from complaints_warehouse import pipeline, validate

    settings, warehouse = _settings_and_target(target)
    try:
        summary = validate.run_checkpoint(settings, warehouse, pipeline.new_run_id("bench"))
    except validate.ValidationFailed as failed:  # a failure still took its time: report it, don't stop
        summary = failed.summary
    return {"evaluated": summary.evaluated, "passed": summary.passed}


def step_naive_reload(target: dict, naive: dict) -> dict:
    """The naive peer's load: every contract table read whole from the source with pandas and written
    with ``DataFrame.to_sql``, replacing what the last night wrote."""
    import pandas
    import sqlalchemy

    from complaints_warehouse.load import resolve_source_url
    from ingestion.adapters import sql_adapter

    settings, warehouse = _settings_and_target(target)
    config = resolve_source_url(_source_config(settings), warehouse)
    source = sql_adapter.engine_for(config)
    sink = sqlalchemy.create_engine(Connection(**naive).sqlalchemy_url("psycopg"))
    rows = 0
    for mapping in config.tables:
        query, _ = sql_adapter.build_query(sql_adapter._reflect(source, mapping, config), mapping, config)
        replace = True
        for chunk in pandas.read_sql(query, source, chunksize=NAIVE_CHUNK_ROWS):
            chunk.to_sql(
                mapping.contract.name, sink, if_exists="replace" if replace else "append", index=False
            )
            replace, rows = False, rows + len(chunk)
    source.dispose()
    sink.dispose()
    return {"rows": rows}


STEPS = {
    "bare_copy": step_bare_copy,
    "load": step_load,
    "build": step_build,
    "validate": step_validate,
    "naive_reload": step_naive_reload,
}

STEP_CODE = """
import json, re, resource, sys
from tools import national_bench
name, kwargs = sys.argv[1], json.loads(sys.argv[2])
result = national_bench.STEPS[name](**kwargs)
own_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("STEP_RESULT", json.dumps({**result, "peak_kb": max(own_kb, children_kb)}))
"""


def run_step(settings: Settings, name: str, **kwargs) -> tuple[float, float, dict]:
    """Run one step in a fresh Python; return (seconds, peak resident MB of it and its children, result)."""
    env = {**os.environ, "PYTHONPATH": str(settings.project_dir)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", STEP_CODE, name, json.dumps(kwargs)], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.rsplit("STEP_RESULT", 1)[1].strip().splitlines()[0])
    return elapsed, result.pop("peak_kb") / 1024, result


def echo_step(echo: Echo, label: str, elapsed: float, peak: float, result: dict) -> None:
    """One step's line; a build's slowest dbt nodes (from its ``run_results.json``) on the next."""
    shown = {k: v for k, v in result.items() if k != "slowest"}
    echo(f"  {label}: {elapsed:.1f} s, peak {peak:.0f} MB  {shown}")
    if result.get("slowest"):
        nodes = (f"{n['node'].split('.', 2)[-1]} {n['s']:.1f} s" for n in result["slowest"])
        echo("    slowest dbt nodes: " + ", ".join(nodes))


# -- the whole benchmark ----------------------------------------------------------------------------


def _fresh_database(settings: Settings, target: Connection, name: str) -> Connection:
    """An empty warehouse database beside ``target``, prepared as the pipeline prepares its own."""
    from complaints_warehouse import pipeline

    return pipeline.prepare(settings, bench._scratch_database(target, name))


def run(
    settings: Settings,
    target: Connection,
    *,
    councils: int = 300,
    years: int = 10,
    templates: int = TEMPLATE_COUNCILS,
    echo: Echo = print,
) -> dict:
    """The national benchmark; prints every figure and records them in bench-results.json."""
    figures: dict = {"bench_date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    figures |= national_source(target, councils, years, templates=templates, echo=echo)
    warehouse = _fresh_database(settings, target, WAREHOUSE_DATABASE)
    naive = _fresh_database(settings, target, NAIVE_DATABASE)
    wh = _plain(warehouse)
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}

    def step(label: str, name: str, **kwargs) -> dict:
        elapsed, peak, result = run_step(settings, name, **kwargs)
        seconds[label], peaks[label] = round(elapsed, 2), round(peak, 1)
        echo_step(echo, label, elapsed, peak, result)
        return result

    echo("The practical limit: bare COPY of every case-system table into typed tables, no checks:")
    bare = step(
        "bare_copy",
        "bare_copy",
        target=wh,
        copy=_plain(bench._scratch_database(target, BARE_COPY_DATABASE)),
    )
    bench.drop_database(target, BARE_COPY_DATABASE)  # a second copy of the national source is not kept
    echo("The first night, into an empty warehouse:")
    full_load = step("full_load", "load", target=wh)
    full_build = step("full_build", "build", target=wh)
    checked = step("full_validation", "validate", target=wh)

    from tools import simulator_scale as scale

    started = time.perf_counter()
    changed = scale.change_share(simulated_source.simulator(target, SOURCE_DATABASE).conninfo, CHANGE_SHARE)
    change_s = time.perf_counter() - started
    echo(f"Changed {CHANGE_SHARE:.1%} of the cases at the source in {change_s:.1f} s: {changed}")

    echo("Our night (incremental load, nightly dbt build, checkpoint):")
    night = step("night_load", "load", target=wh)
    night_build = step("night_build", "build", target=wh)
    step("night_validation", "validate", target=wh)
    echo("The naive peer's night (pandas to_sql full reload, dbt build --full-refresh), on the same data:")
    naive_rows = step("naive_reload", "naive_reload", target=wh, naive=_plain(naive))
    step("naive_build", "build", target=wh, full_refresh=True)

    load_rows = full_load["case_system_rows"]
    load_s = full_load["case_system_s"]
    figures |= {
        "load_rows": load_rows,
        "load_rows_per_s": round(load_rows / load_s),
        "copy_rows": bare["rows"],
        "copy_rows_per_s": round(bare["rows"] / bare["copy_s"]),
        "load_vs_copy": round((load_rows / load_s) / (bare["rows"] / bare["copy_s"]), 3),
        "to_sql_rows_per_s": round(naive_rows["rows"] / seconds["naive_reload"]),
        "load_vs_to_sql": round((load_rows / load_s) / (naive_rows["rows"] / seconds["naive_reload"]), 2),
        "load_peak_rss_mb": peaks["full_load"],
        "full_load_quarantined": full_load["quarantined"],
        "to_sql_peak_rss_mb": peaks["naive_reload"],
    }
    ours_s = seconds["night_load"] + seconds["night_build"] + seconds["night_validation"]
    naive_s = seconds["naive_reload"] + seconds["naive_build"]
    figures |= {
        "full_build_s": seconds["full_build"],
        "dbt_nodes": full_build["nodes"],
        "dbt_threads": dbt_threads(),
        "full_build_slowest": full_build["slowest"],
        "night_build_slowest": night_build["slowest"],
        "validation_s": seconds["full_validation"],
        "build_s": seconds["full_build"],
        "validation_vs_build": round(seconds["full_validation"] / seconds["full_build"], 3),
        "validation_expectations": checked["evaluated"],
        "validation_passed": checked["passed"],
        "validation_representations": full_build["cases"],
        "change_share": CHANGE_SHARE,
        "change_cases": changed,
        "change_s": round(change_s, 2),
        "night_rows_in": night["case_system_rows"],
        "incremental_vs_full": round(seconds["night_build"] / seconds["full_build"], 3),
        "incremental_cases": night_build["cases"],
        "incremental_cases_recomputed": night_build["cases_recomputed"],
        "incremental_rebuilt_all": night_build["rebuilt_all"],
        "full_build_rebuilt_all": full_build["rebuilt_all"],
        "ours_night_s": round(ours_s, 2),
        "naive_night_s": round(naive_s, 2),
        "naive_rows": naive_rows["rows"],
        "naive_vs_ours": round(naive_s / ours_s, 2),
        "step_s": seconds,
        "peak_rss_mb": peaks,
    }
    echo(
        f"Figures: full dbt build {seconds['full_build']:.0f} s ({full_build['nodes']} nodes); "
        f"validation/build = {figures['validation_vs_build']:.2f} (goal <= 0.15); the night's build / "
        f"full build = {figures['incremental_vs_full']:.2f} (goal <= 0.10); "
        f"naive night {naive_s:.0f} s / ours {ours_s:.0f} s = {figures['naive_vs_ours']:.1f}x (goal >= 5x); "
        f"load/COPY = {figures['load_vs_copy']:.2f} (goal >= 0.70; {figures['load_rows_per_s']:,} against "
        f"{figures['copy_rows_per_s']:,} rows/s), {figures['load_vs_to_sql']:.1f}x pandas to_sql"
    )
    echo(
        "Peak memory per step (our process and its children, not the PostgreSQL server): "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in peaks.items())
    )
    bench.record(settings, figures)
    echo(f"Wrote {bench.results_path(settings)}")
    return figures


def another_night(settings: Settings, target: Connection, *, echo: Echo = print) -> dict:
    """One more night on the warehouse ``run`` left (``make bench`` first), with this checkout's code:
    the raw tables brought up to date (indexes this code adds: a one-time cost, timed apart), another
    0.5 % changed at the source, then our night's three steps as ``run`` measures them. Recorded under
    ``another_night``; its ratio to the last run's naive peer is printed, marked as not side by side."""
    from complaints_warehouse.warehouse import bootstrap, roles
    from complaints_warehouse.warehouse.database import connect
    from ingestion.case_system import contract as case_system
    from ingestion.raw_tables import ensure_raw_table
    from tools import simulator_scale as scale

    with connect(target, autocommit=True) as conn:
        found = {
            name
            for (name,) in conn.execute(
                "select datname::text from pg_database where datname = any(%s)",
                ([WAREHOUSE_DATABASE, SOURCE_DATABASE],),
            ).fetchall()
        }
    if found != {WAREHOUSE_DATABASE, SOURCE_DATABASE}:
        raise RuntimeError(
            f"No national benchmark to continue on this server (databases {WAREHOUSE_DATABASE} and "
            f"{SOURCE_DATABASE}): run `make bench` (or `complaints-warehouse bench`) first."
        )
    warehouse = dataclasses.replace(target, dbname=WAREHOUSE_DATABASE)
    started = time.perf_counter()
    bootstrap.bootstrap(warehouse)  # audit tables and grants this code adds
    with connect(roles.as_role(warehouse, roles.LOADER), autocommit=True) as conn:
        for table in case_system.TABLES:
            ensure_raw_table(conn, table)
    upgrade_s = time.perf_counter() - started
    echo(f"The warehouse and its raw tables brought up to this code in {upgrade_s:.1f} s (once)")
    started = time.perf_counter()
    changed = scale.change_share(simulated_source.simulator(target, SOURCE_DATABASE).conninfo, CHANGE_SHARE)
    echo(
        f"Changed {CHANGE_SHARE:.1%} of the cases at the source in {time.perf_counter() - started:.1f} s: {changed}"
    )
    echo("Another night (incremental load, nightly dbt build, checkpoint):")
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}
    results: dict[str, dict] = {}
    wh = _plain(warehouse)
    for label, name in (("night_load", "load"), ("night_build", "build"), ("night_validation", "validate")):
        elapsed, peak, result = run_step(settings, name, target=wh)
        seconds[label], peaks[label], results[label] = round(elapsed, 2), round(peak, 1), result
        echo_step(echo, label, elapsed, peak, result)
    ours_s = round(sum(seconds.values()), 2)
    night = {
        "bench_date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "upgrade_s": round(upgrade_s, 2),
        "change_cases": changed,
        "night_rows_in": results["night_load"]["case_system_rows"],
        "dbt_threads": dbt_threads(),
        "night_build_slowest": results["night_build"]["slowest"],
        "validation_passed": results["night_validation"]["passed"],
        "validation_expectations": results["night_validation"]["evaluated"],
        "ours_night_s": ours_s,
        "step_s": seconds,
        "peak_rss_mb": peaks,
    }
    results_file = bench.results_path(settings)
    last_run = json.loads(results_file.read_text()) if results_file.exists() else {}
    if last_run.get("naive_night_s"):
        night["naive_night_s_of_last_run"] = last_run["naive_night_s"]
        echo(
            f"Our night {ours_s:.0f} s; the last full run's naive peer took {last_run['naive_night_s']:.0f} s "
            f"({last_run['naive_night_s'] / ours_s:.1f}x, not measured side by side)"
        )
    bench.record(settings, {"another_night": night})
    echo(f"Wrote {bench.results_path(settings)} (key another_night)")
    return night
