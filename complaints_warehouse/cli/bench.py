"""bench: the national-scale benchmark, a development tool in the checkout's ``tools/`` (not installed
with the product); this command finds it there, so ``make bench`` and ``complaints-warehouse bench`` work
from a checkout."""

from __future__ import annotations

import sys

from complaints_warehouse.cli.common import EXIT_OK, _echo


def add_bench(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="national-scale benchmark: load vs bare COPY and to_sql, dbt build, validation, our night vs a "
        "naive peer, peak memory; writes bench-results.json",
    )
    p.add_argument("--councils", type=int, default=300, help="simulated councils (default 300)")
    p.add_argument("--years", type=int, default=10, help="financial years of cases (default 10)")
    p.add_argument(
        "--templates",
        type=int,
        default=10,
        help="councils simulated in Python; the rest are copies of them made in SQL (default 10)",
    )
    p.add_argument(
        "--load-only", action="store_true", help="only the load benchmark, on about --representations cases"
    )
    p.add_argument(
        "--representations",
        type=int,
        default=1_000_000,
        help="cases for --load-only (default 1,000,000)",
    )
    p.add_argument("--dags-only", action="store_true", help="only time the parsing of the DAG files")
    p.add_argument(
        "--another-night",
        action="store_true",
        help="after a national run: another 0.5 %% change and our night on its warehouse, with this code",
    )
    p.set_defaults(handler=cmd_bench)


def _tools_on_path(settings) -> None:
    """The benchmarks are development tools: they live in the checkout's ``tools/``, beside the package,
    not in the installed product; ``bench`` finds them there (``make bench`` runs from a checkout)."""
    from complaints_warehouse.settings import SettingsError

    if not (settings.project_dir / "tools" / "bench.py").is_file():
        raise SettingsError(
            f"bench needs the project's development tools (tools/bench.py) in {settings.project_dir}: run it "
            "from a checkout of the project (`make bench`), or set WAREHOUSE_PROJECT_DIR to one."
        )
    if str(settings.project_dir) not in sys.path:
        sys.path.insert(0, str(settings.project_dir))


def cmd_bench(args, settings) -> int:
    _tools_on_path(settings)
    from complaints_warehouse import pipeline
    from tools import bench

    _echo("DAG file parse times (median of 5 fresh processes, after importing airflow.sdk):")
    bench.dag_parse_times(settings, echo=_echo)
    if args.dags_only:
        return EXIT_OK
    target = pipeline.prepare(settings)
    if args.load_only:
        bench.run(settings, target, representations=args.representations, echo=_echo)
    elif args.another_night:
        from tools import national_bench

        national_bench.another_night(settings, target, echo=_echo)
    else:
        from tools import national_bench

        national_bench.run(
            settings, target, councils=args.councils, years=args.years, templates=args.templates, echo=_echo
        )
    return EXIT_OK
