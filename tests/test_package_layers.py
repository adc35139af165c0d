"""The package's rooms, read from its imports: no import cycle, and no import up a floor.

Floors, lowest first (a module may import its own floor and any below, never one above):

====================  ======================================================================================
foundation            ``settings`` (every environment read, once), ``errors`` (the one hierarchy),
                      ``fault_points`` (named points, no behaviour), ``outputs`` (atomic file writes),
                      ``ingestion.identifiers`` (the SQL-name rule settings checks names with)
warehouse             ``complaints_warehouse.warehouse``: database, embedded server, roles, bootstrap,
                      locks, recovery, child processes
ingestion             ``ingestion``: contracts, adapters, the loader, its ledger and its own errors
steps                 load, transform, validate (its GX check and the GX version pin), publish,
                      integrity, the BMMR's measure list, known issues, retention, subject access, the
                      simulated source
reports               ``complaints_warehouse.reports``
pipeline              ``complaints_warehouse.pipeline``: the steps in order, for both drivers
drivers               ``complaints_warehouse.cli`` (one module per subcommand group), ``orchestration``,
                      ``assets``, ``alerts`` and ``notifiers`` (Airflow's), the DAG files in ``dags/``
====================  ======================================================================================

The development tools (``tools/``) may import anything; the package never imports them, save the one door
``complaints_warehouse.cli.bench`` opens, inside its command, to the checkout's ``tools/`` (``make bench``).
Every import, at module level or inside a function, counts.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("complaints_warehouse", "ingestion")

FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "complaints_warehouse",  # the package's __init__: its version, nothing else
            "complaints_warehouse.settings",
            "complaints_warehouse.errors",
            "complaints_warehouse.fault_points",
            "complaints_warehouse.dbt_worker",  # a program of its own (dbt in one process): imports nothing here
            "complaints_warehouse.outputs",
            "ingestion.identifiers",
        ),
    ),
    ("warehouse", ("complaints_warehouse.warehouse",)),
    ("ingestion", ("ingestion",)),
    (
        "steps",
        (
            "complaints_warehouse.load",
            "complaints_warehouse.transform",
            "complaints_warehouse.validate",
            "complaints_warehouse.gx_checks",
            "complaints_warehouse.gx_pin",
            "complaints_warehouse.bmmr_measures",
            "complaints_warehouse.publish",
            "complaints_warehouse.integrity",
            "complaints_warehouse.known_issues",
            "complaints_warehouse.retention",
            "complaints_warehouse.subject_access",
            "complaints_warehouse.simulated_source",
        ),
    ),
    ("reports", ("complaints_warehouse.reports",)),
    ("pipeline", ("complaints_warehouse.pipeline",)),
    (
        "drivers",
        (
            "complaints_warehouse.cli",
            "complaints_warehouse.orchestration",
            "complaints_warehouse.assets",
            "complaints_warehouse.alerts",
            "complaints_warehouse.notifiers",
            "dags",
        ),
    ),
)
#: The one module of the package allowed to import the development tools (inside its command).
TOOLS_DOOR = "complaints_warehouse.cli.bench"


def _modules() -> dict[str, Path]:
    """Every module of the product's packages and the DAG files, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for path in sorted((ROOT / "dags").glob("*.py")):
        found[f"dags.{path.stem}"] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in ``path``: ``from a import b`` is
    ``a.b`` when that is a module, else ``a``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    top_level = {id(node) for node in tree.body}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package of this module
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full if full in MODULES else base, node.lineno, id(node) in top_level))
    return found


def _floor(module: str) -> int:
    best = None
    for level, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            # The package's __init__ is on its floor by itself: a module left out of FLOORS is on none.
            nested = module.startswith(prefix + ".") and prefix != "complaints_warehouse"
            if (module == prefix or nested) and (best is None or len(prefix) > best[1]):
                best = (level, len(prefix))
    assert best is not None, f"{module} is on no floor: add it to FLOORS in {Path(__file__).name}"
    return best[0]


def _project(module: str) -> bool:
    return module.split(".")[0] in (*PACKAGES, "dags")


def _edges() -> dict[str, set[str]]:
    """module -> the project's modules it imports (a module importing its own package's ``__init__``
    is the package's structure, not a dependency, and is left out)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path):
            if _project(target) and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def test_every_module_is_on_a_floor_and_every_project_import_resolves_here():
    for name in MODULES:
        _floor(name)
    unresolved = [
        f"{name}:{line} imports {target}"
        for name, path in MODULES.items()
        for target, line, _ in _imports(name, path)
        if _project(target) and target not in MODULES
    ]
    assert not unresolved, "imports of modules this checkout does not have:\n" + "\n".join(unresolved)


def test_no_import_goes_up_a_floor():
    upward = [
        f"{name} ({FLOORS[_floor(name)][0]}) imports {target} ({FLOORS[_floor(target)][0]})"
        for name, targets in _edges().items()
        for target in sorted(targets)
        if _floor(target) > _floor(name)
    ]
    assert not upward, "imports up a floor:\n" + "\n".join(upward)


def test_no_import_cycle():
    graph = _edges()
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_package_never_imports_the_development_tools_but_through_the_bench_command():
    offending = [
        f"{name}:{line} imports {target}"
        for name, path in MODULES.items()
        for target, line, top in _imports(name, path)
        if target.split(".")[0] == "tools" and (name != TOOLS_DOOR or top)
    ]
    assert not offending, "the product imports the development tools:\n" + "\n".join(offending)
    assert any(t.split(".")[0] == "tools" for t, _, _ in _imports(TOOLS_DOOR, MODULES[TOOLS_DOOR]))


def test_the_development_tools_are_not_installed_with_the_product():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not any(pattern.split("*")[0] in ("tools", "tools.") for pattern in included)
    for tool in ("bench", "national_bench", "secret_scan", "faults", "simulator_scale"):
        assert (ROOT / "tools" / f"{tool}.py").is_file(), tool
        assert not (ROOT / "complaints_warehouse" / f"{tool}.py").exists(), tool


def test_only_ingestion_writes_the_batch_ledger_and_the_watermarks():
    """``ingestion`` owns ``audit.load_batches`` and ``audit.source_watermarks``: the pipeline calls its
    functions (``ingestion.ledger``) and writes no ledger SQL of its own, nor passes any in as a callback."""
    import re

    write = re.compile(
        r"(insert\s+into|update|delete\s+from)\s+audit\.(load_batches|source_watermarks)\b", re.I
    )
    writers = sorted(
        name
        for name, path in MODULES.items()
        if write.search(path.read_text()) and not name.startswith("ingestion.")
    )
    assert not writers, f"ledger written outside ingestion: {writers}"


def test_every_task_function_the_dags_call_exists():
    """The DAG files call ``orchestration.<task>`` when a task runs, not when they are parsed: a task
    function lost in a move would only show in a run."""
    import re

    from complaints_warehouse import orchestration

    called = {
        name
        for path in (ROOT / "dags").glob("*.py")
        for name in re.findall(r"orchestration\.(\w+)", path.read_text())
    }
    assert called and not {name for name in called if not hasattr(orchestration, name)}
