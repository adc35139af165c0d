"""One dbt process for the several dbt commands of a step: ``python -m complaints_warehouse.dbt_worker``.

Each dbt command started as a program pays for starting dbt and loading its parse of the project, seconds
that a small night's whole build is not much longer than. The night's transform runs two (``source
freshness``, then ``build``): in one worker it pays once. The worker reads one command per line on its
standard input (a JSON list of dbt's arguments, as on dbt's command line), runs it with dbt's own
programmatic runner, and ends what dbt printed for it with ``DONE`` followed by 0 or 1 (failed,
succeeded). The project is parsed once (``dbt parse``, writing the same artifacts as any command) and the
parse is reused while the command's ``--vars`` and ``--project-dir`` stay the same; dbt writes each
command's results (``run_results.json``, ``sources.json``) as it would as a program.

It is started with ``warehouse.child_process``, so it dies with the pipeline, as a dbt program would.
"""

from __future__ import annotations

import json
import sys

#: The line that ends a command's output; then "0" or "1".
DONE = "\x1edbt-worker-done "
#: The options that change what dbt's parse of the project is.
PARSE_OPTIONS = ("--vars", "--project-dir")


def parse_options(args: list[str]) -> list[str]:
    """The options of ``args`` that its parse of the project depends on."""
    found = []
    for i, arg in enumerate(args):
        if arg in PARSE_OPTIONS and i + 1 < len(args):
            found += [arg, args[i + 1]]
        elif arg.startswith(tuple(f"{option}=" for option in PARSE_OPTIONS)):
            found.append(arg)
    return found


def main() -> None:
    from dbt.cli.main import dbtRunner

    manifest, parsed_for = None, None
    for line in sys.stdin:
        args = json.loads(line)
        options = parse_options(args)
        if manifest is None or options != parsed_for:
            parsed = dbtRunner().invoke(["parse", "--quiet", *options])
            manifest, parsed_for = (parsed.result, options) if parsed.success else (None, None)
        # (After a failed parse, the command parses again itself and says why as itself.)
        # A copy for each command (dbt's own): dbt marks the nodes it compiles in the manifest it is given
        # (an ephemeral model's CTE counts as injected), and a second build on it would compile without it.
        result = dbtRunner(manifest=manifest.deepcopy() if manifest is not None else None).invoke(args)
        if result.exception is not None:
            print(f"dbt: {result.exception}", flush=True)
        print(f"{DONE}{int(result.success)}", flush=True)


if __name__ == "__main__":
    main()
