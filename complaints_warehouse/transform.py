"""Transform: ``dbt source freshness``, then ``dbt build`` of the dbt project against the warehouse
(models, seeds, snapshots, tests)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from complaints_warehouse import dbt_worker, fault_points
from complaints_warehouse.errors import StepFailed
from complaints_warehouse.settings import Settings
from complaints_warehouse.warehouse import child_process, roles
from complaints_warehouse.warehouse.database import Connection
from complaints_warehouse.warehouse.locks import dbt_lock

#: How many of a dbt command's slowest nodes its result lists (from dbt's ``run_results.json``).
SLOWEST_NODES = 10

#: dbt's line as it starts a node: "12 of 387 START sql table model marts.fct_representations ... [RUN]".
DBT_STARTED = re.compile(r" START sql \w+ model [\w\.]*?(?P<model>\w+) ")


class TransformFailed(StepFailed, RuntimeError):
    """dbt finished with errors or failing tests; the message lists them."""


@dataclass
class DbtResult:
    command: str
    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: The nodes that took longest, slowest first (``SLOWEST_NODES`` of them): unique id and seconds.
    slowest: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    found = str(beside_python) if beside_python.exists() else shutil.which("dbt")
    if not found:
        raise TransformFailed("dbt is not installed in this environment: run `make install`.")
    return found


def target_dir(settings: Settings) -> Path:
    """Where dbt writes its artifacts: its own ``DBT_TARGET_PATH`` when set (relative to the dbt project,
    as dbt reads it), else the project's ``target/``. The test suite gives each session its own."""
    from complaints_warehouse.settings import dbt_target_path

    path = Path(dbt_target_path())
    return path if path.is_absolute() else settings.dbt_project_dir / path


def dbt_environment(settings: Settings, target: Connection) -> dict[str, str]:
    """dbt's environment: it connects as the transformer role, which owns the dbt layers and cannot
    read the personal data in ``restricted`` (see ``complaints_warehouse.warehouse.roles``), with as
    many threads as the settings give (the profile reads ``WAREHOUSE_DBT_THREADS``)."""
    from complaints_warehouse.settings import DBT_THREADS_SETTING, dbt_threads

    env = dict(os.environ)
    env[DBT_THREADS_SETTING] = str(dbt_threads())
    env.update(roles.as_role(target, roles.TRANSFORMER).dbt_env())
    env.update(
        DBT_PROFILES_DIR=str(settings.dbt_project_dir),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",  # no network here, and councils' data stays home
        DBT_LOG_PATH=str(target_dir(settings) / "logs"),
        DBT_USE_COLORS="true" if sys.stdout.isatty() else "false",
    )
    # dbt's file log at info (each node's start, result and timing; errors in full; why an aggregate adds
    # every row up again), not debug: debug writes every statement with its literal key lists, some 35 MB
    # a night at national scale, in dbt's own Python. DBT_LOG_LEVEL_FILE=debug shows the statements (the
    # models' own SQL is in target/run either way; the change-tracking macros' queries only at debug).
    env.setdefault("DBT_LOG_LEVEL_FILE", "info")
    return env


def dbt_reads(name: str) -> bool:
    """Whether dbt reads the environment variable ``name``: its own (``DBT_``), the profile's
    (``Connection.dbt_env``, the threads) and the project's ``env_var()`` (``OMBUDSMAN_``: tests/
    test_dbt_session.py checks the project names no other)."""
    from complaints_warehouse.settings import DBT_THREADS_SETTING

    return name.startswith(("DBT_", "OMBUDSMAN_")) or name in {DBT_THREADS_SETTING, *_PROFILE_VARIABLES}


#: The variables dbt_project/profiles.yml reads (what ``Connection.dbt_env`` sets).
_PROFILE_VARIABLES = frozenset(Connection("h", 1, "u", None, "d", False).dbt_env())


class DbtSession:
    """One dbt process (``complaints_warehouse.dbt_worker``) for the dbt commands of a step: dbt starts and
    loads its parse of the project once, not once per command. Started at its first command; a context
    manager that ends the process when the step is done. It dies with this process (``child_process``):
    a killed pipeline leaves no dbt running beside the next run's."""

    def __init__(self, settings: Settings, target: Connection):
        self.settings, self.target = settings, target
        self.process: subprocess.Popen | None = None
        self.key: tuple = ()
        self.busy = False  # a command was sent and has not finished

    def __enter__(self) -> DbtSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is None:
            return
        if self.busy:  # left in the middle of a command: stop it
            self._stop()
            return
        process, self.process = self.process, None
        if not _idle_workers.keep(self.key, process):
            _end(process)

    @staticmethod
    def _key(project_dir: Path, env: dict[str, str]) -> tuple:
        """What dbt reads of the environment a worker is started with (``dbt_reads``): one kept idle serves
        only a session whose dbt would read the same."""
        return (str(project_dir), tuple(sorted((k, v) for k, v in env.items() if dbt_reads(k))))

    def _stop(self) -> None:
        """Kill the worker and wait for it (a model it was building is rolled back by PostgreSQL)."""
        process, self.process, self.busy = self.process, None, False
        if process is not None:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                pipe.close()

    def run(self, args: list[str]):
        """Run one dbt command; yield each line dbt prints, then ``True`` or ``False`` (succeeded). A command
        left unfinished (the caller stopped reading: an exception, a timeout) is killed when the caller
        closes this generator, which ``run_dbt`` does while it still holds its locks."""
        if self.busy:
            raise RuntimeError("this dbt session is still running a command")
        if self.process is None:
            env = dbt_environment(self.settings, self.target)
            # The key of the worker this session runs, fixed when it is started or taken.
            self.key = self._key(self.settings.dbt_project_dir, env)
            self.process = _idle_workers.take(self.key)
        if self.process is None:
            if importlib.util.find_spec("dbt.cli.main") is None:
                raise TransformFailed("dbt is not installed in this environment: run `make install`.")
            self.process = subprocess.Popen(
                child_process.command(sys.executable, "-m", "complaints_warehouse.dbt_worker"),
                cwd=self.settings.dbt_project_dir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.busy = True
        try:
            try:
                self.process.stdin.write(json.dumps(args) + "\n")
                self.process.stdin.flush()
            except BrokenPipeError:  # the worker died; what it printed says why
                pass
            for line in self.process.stdout:
                at = line.find(dbt_worker.DONE)
                if at < 0:
                    yield line
                    continue
                if at:  # dbt's last output had no line end
                    yield line[:at]
                self.busy = False
                yield line[at + len(dbt_worker.DONE) :].strip() == "1"
                return
            self._stop()  # the worker ended without finishing the command (it crashed, or was killed)
            yield False
        finally:
            if self.busy:
                self._stop()


def _end(process: subprocess.Popen) -> None:
    """End an idle worker: it ends at the end of its input."""
    process.stdin.close()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


class _IdleWorkers:
    """dbt workers kept between the steps of a process that runs many (``keep_idle_workers``: the test
    suite; each step would otherwise start dbt and load its parse again, seconds a small build is not
    much longer than). At most ``MOST`` (each holds dbt and its parse in memory), the least recently kept
    ended first; only on the main thread (a child dies with the thread that started it,
    ``child_process``); all ended as this process exits. Never inherited by a child process."""

    MOST = 2

    def __init__(self):
        self.enabled = False
        self.idle: dict[tuple, subprocess.Popen] = {}

    def _here(self) -> bool:
        import threading

        return self.enabled and threading.current_thread() is threading.main_thread()

    def keep(self, key: tuple, process: subprocess.Popen) -> bool:
        if not key or process.poll() is not None or not self._here():
            return False
        if (older := self.idle.pop(key, None)) is not None:
            _end(older)
        self.idle[key] = process
        while len(self.idle) > self.MOST:
            _end(self.idle.pop(next(iter(self.idle))))
        return True

    def take(self, key: tuple) -> subprocess.Popen | None:
        process = self.idle.pop(key, None) if self._here() else None
        if process is not None and process.poll() is not None:  # it died meanwhile: close its pipes
            _end(process)
            return None
        return process

    def end_all(self) -> None:
        while self.idle:
            _end(self.idle.popitem()[1])


_idle_workers = _IdleWorkers()


def keep_idle_workers(keep: bool = True) -> bool:
    """Keep this process's idle dbt worker for its next step whose dbt reads the same environment (a
    process that runs many steps one after another: the test suite), or stop keeping them (ending those
    kept); returns whether it kept them before. A nightly run's steps each run in a process of their own
    and keep nothing."""
    import atexit

    was = _idle_workers.enabled
    if keep and not was:
        atexit.register(_idle_workers.end_all)
    _idle_workers.enabled = keep
    if not keep:
        _idle_workers.end_all()
    return was


def run_dbt(
    settings: Settings,
    target: Connection,
    args: list[str],
    *,
    echo: Callable[[str], None] = print,
    session: DbtSession | None = None,
) -> DbtResult:
    """Run one dbt command (``["build"]``, ``["docs", "generate"]``...) and summarise its results; in
    ``session``'s dbt process when given (a step's several commands), else in a process of its own.

    One dbt at a time per warehouse (``dbt_lock``), and dbt dies with this process (``child_process``):
    a killed pipeline leaves no dbt running beside the next run's. A model dbt was building when it died
    is rolled back by PostgreSQL (dbt replaces a relation in one transaction), and the next ``dbt build``
    clears any ``__dbt_tmp`` or ``__dbt_backup`` relation left over."""
    if session is None:
        with DbtSession(settings, target) as own:
            return run_dbt(settings, target, args, echo=echo, session=own)
    results_file = target_dir(settings) / "run_results.json"
    succeeded = False
    with dbt_lock(target):
        results_file.unlink(missing_ok=True)
        lines = session.run([*args, "--project-dir", str(settings.dbt_project_dir)])
        try:
            for line in lines:
                if isinstance(line, bool):
                    succeeded = line
                    break
                echo(line.rstrip())
                if fault_points.armed() and (started := DBT_STARTED.search(line)):
                    fault_points.reached(f"mid-dbt:{started['model']}")
        finally:
            lines.close()  # a command left unfinished is stopped here, inside the locks
        result = _summarise(" ".join(["dbt", *args]), results_file)
    result.success = succeeded and not result.failures
    return result


def _summarise(command: str, results_file: Path) -> DbtResult:
    result = DbtResult(command=command, success=False)
    if not results_file.exists():
        result.failures.append("dbt wrote no run results (it failed before running anything: see its output)")
        return result
    run = json.loads(results_file.read_text())
    result.elapsed_s = round(run.get("elapsed_time", 0.0), 2)
    statuses = Counter(r["status"] for r in run.get("results", []))
    result.counts = dict(statuses)
    timed = sorted(run.get("results", []), key=lambda r: r.get("execution_time") or 0.0, reverse=True)
    result.slowest = [
        {"node": r["unique_id"], "s": round(r.get("execution_time") or 0.0, 2)} for r in timed[:SLOWEST_NODES]
    ]
    for r in run.get("results", []):
        if r["status"] in {"error", "fail", "runtime error"}:
            result.failures.append(f"{r['unique_id']}: {r['status']}: {(r.get('message') or '').strip()}")
    return result


@dataclass
class Freshness:
    """``dbt source freshness``: each source table's status (pass, warn, error) and the hours since it
    was last loaded (measured on the batches' load time, ``_loaded_at``, not on business dates)."""

    checked: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    never_loaded: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def scope_vars(test_recomputed_rows_only: bool) -> list[str]:
    """dbt's ``--vars`` for the nightly test scope. Give every command of a run the same vars: a change
    of vars makes dbt parse the whole project again (no partial parsing)."""
    return ["--vars", json.dumps({"test_recomputed_rows_only": True})] if test_recomputed_rows_only else []


def check_freshness(
    settings: Settings,
    target: Connection,
    *,
    select: str | None = None,
    test_recomputed_rows_only: bool = False,
    echo=print,
    session: DbtSession | None = None,
) -> Freshness:
    """``dbt source freshness`` of every source (or of the sources ``select`` names, e.g. ``source:ombudsman+``).

    A source past its ``error_after`` raises (before the build: the marts keep the last good night);
    past ``warn_after`` is reported. A raw table that has never received a row cannot be measured: it
    is listed as never loaded, not failed (a source system may not send every table).
    """
    args = (
        ["source", "freshness"]
        + (["--select", select] if select else [])
        + scope_vars(test_recomputed_rows_only)
    )
    sources_file = target_dir(settings) / "sources.json"
    sources_file.unlink(missing_ok=True)  # never last night's, should dbt write none
    run_dbt(settings, target, args, echo=lambda line: None, session=session)
    result = Freshness()
    if not sources_file.exists():
        raise TransformFailed("dbt source freshness wrote no results (see target/logs/dbt.log).")
    for r in json.loads(sources_file.read_text()).get("results", []):
        name = r["unique_id"].removeprefix("source.complaints_warehouse.")
        result.checked += 1
        age_h = round((r.get("max_loaded_at_time_ago_in_s") or 0) / 3600, 1)
        if str(r.get("max_loaded_at") or "1970").startswith(("1970", "0001")):
            # dbt reports an empty table as loaded at the epoch: it has never received a row.
            result.never_loaded.append(name)
        elif r["status"] == "warn":
            result.warnings.append(f"{name}: last loaded {age_h} h ago")
        elif r["status"] == "error":
            result.errors.append(f"{name}: last loaded {age_h} h ago")
        elif r["status"] == "runtime error":
            if "null" in (r.get("error") or r.get("message") or "").lower():
                result.never_loaded.append(name)
            else:
                result.errors.append(f"{name}: {(r.get('error') or r.get('message') or '').strip()}")
    for line in result.warnings:
        echo(f"  freshness warning: {line}")
    if result.errors:
        listed = "\n  ".join(result.errors)
        raise TransformFailed(
            f"Source freshness: data older than its error threshold (the marts were not rebuilt):\n  {listed}"
        )
    echo(
        f"  source freshness: {result.checked} tables checked, {len(result.warnings)} warning(s)"
        + (f", never loaded: {', '.join(result.never_loaded)}" if result.never_loaded else "")
    )
    return result


def build(
    settings: Settings,
    target: Connection,
    *,
    select: str | None = None,
    full_refresh: bool = False,
    test_recomputed_rows_only: bool = False,
    unit_tests: bool = True,
    echo=print,
    session: DbtSession | None = None,
) -> DbtResult:
    """``dbt build``: every model, seed and test, in dependency order; raise if anything failed.

    ``test_recomputed_rows_only``: the data tests of incremental models look only at the rows this build
    recomputed (the var of the macro get_where_subquery; ignored with ``full_refresh``); otherwise every
    row is tested. ``unit_tests``: with dbt's unit tests, which check the models' SQL on fixed inputs
    (the code, not the night's data: the suite and ``transform --unit-tests`` run them, not the night)."""
    from complaints_warehouse.warehouse.locks import marts_lock

    args = ["build"] + (["--select", select] if select else []) + (["--full-refresh"] if full_refresh else [])
    args += [] if unit_tests else ["--exclude-resource-type", "unit_test"]
    args += scope_vars(test_recomputed_rows_only)
    # A build changes the marts: never while a validation or publication holds them (``locks``).
    with marts_lock(target, purpose="transform (dbt build)", echo=echo):
        result = run_dbt(settings, target, args, echo=echo, session=session)
    if not result.success:
        listed = "\n  ".join(result.failures) or "see dbt's output above"
        raise TransformFailed(f"dbt build failed:\n  {listed}")
    return result


def generate_docs(settings: Settings, target: Connection, *, test_recomputed_rows_only: bool = True) -> Path:
    """The dbt docs site as one self-contained page (``dbt docs generate --static``) in the outputs:
    every model and column described, with the lineage from sources to marts. Returns its path."""
    # The night's vars: the same as its freshness check and build, so dbt reuses their parse.
    args = ["docs", "generate", "--static", *scope_vars(test_recomputed_rows_only)]
    result = run_dbt(settings, target, args, echo=lambda line: None)
    page = target_dir(settings) / "static_index.html"
    if not page.exists():
        raise TransformFailed("dbt docs generate wrote no static_index.html: " + "; ".join(result.failures))
    from complaints_warehouse.outputs import copy_atomic

    return copy_atomic(page, settings.outputs_dir / "dbt-docs.html")
