"""``complaints-warehouse``: run the warehouse's pipeline, or one step of it, from the command line.

Exit codes: 0 success; 1 a step failed (dbt error, failing test or expectation); 2 a setting is wrong
or the warehouse cannot be reached; 3 an input file was refused; 4 another run holds the warehouse
(nothing was changed); 5 the published record has been tampered with (``verify``, ``publish`` and the
BMMR pack refuse, naming each edited or removed publication). The codes come from the error's kind, one
table in ``complaints_warehouse.errors`` (Airflow's ``orchestration.fail_fast`` maps by the same classes).

One module a group of subcommands: ``pipeline`` (run, load, backfill, transform, validate, airflow-run),
``simulator``, ``publication`` (publish, verify, known-issue, restatements), ``personal_data`` (retention,
subject-access), ``reports`` (report, explain), ``db``, ``bench`` (the development tools in ``tools/``);
``common`` holds what they share. Each module's ``add_<command>`` declares its parser; ``build_parser``
lists them in the order ``--help`` shows.
"""

from __future__ import annotations

import argparse
import sys

from complaints_warehouse.cli import bench, db, personal_data, pipeline, publication, reports, simulator
from complaints_warehouse.cli.common import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SETTINGS,
    EXIT_TAMPERED,
)

__all__ = [
    "EXIT_BUSY",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_SETTINGS",
    "EXIT_TAMPERED",
    "build_parser",
    "main",
]

DESCRIPTION = """\
The complaints warehouse: loads the council's complaints case system and the Local Government and
Social Care Ombudsman's open data into PostgreSQL, builds the marts with dbt, and validates them with
Great Expectations.

Without WAREHOUSE_URL it uses an embedded PostgreSQL kept in .warehouse/ (started on demand, stopped
with `db stop`). To use your own server:
    export WAREHOUSE_URL=postgresql://user:password@host:5432/warehouse
"""


EPILOG = """\
typical use:
  complaints-warehouse run                 the whole pipeline, now, in this process
  complaints-warehouse airflow-run         the same, as the nightly Airflow DAG (what `make run` does)
  complaints-warehouse load rms            one step at a time: load, transform, validate
  complaints-warehouse publish             validate, then freeze the latest complete month's BMMR
  complaints-warehouse restatements        every published BMMR figure a later version changed
  complaints-warehouse verify              check every publication's figures and the publication chain
  complaints-warehouse known-issue list    signed-off validation failures the publication gate honours
  complaints-warehouse retention purge     purge personal data past its retention period (--dry-run)
  complaints-warehouse subject-access REF --out FILE   everything held about one complainant
  complaints-warehouse report bmmr         the BMMR pack of the latest published month (HTML)
  complaints-warehouse simulator advance   move the demo's case system on a day, then load again
  complaints-warehouse db status           where the warehouse is and whether it is up

exit codes: 0 ok, 1 a step failed, 2 settings, connection or output file problem, 3 input file refused,
            4 another run is in progress (nothing changed), 5 published figures tampered with
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaints-warehouse",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    pipeline.add_run(sub)
    pipeline.add_load(sub)
    pipeline.add_backfill(sub)
    simulator.add_simulator(sub)
    pipeline.add_transform(sub)
    pipeline.add_validate(sub)
    publication.add_publish(sub)
    publication.add_verify(sub)
    publication.add_known_issue(sub)
    publication.add_restatements(sub)
    personal_data.add_retention(sub)
    personal_data.add_subject_access(sub)
    reports.add_report(sub)
    bench.add_bench(sub)
    db.add_db(sub)
    reports.add_explain(sub)
    pipeline.add_airflow_run(sub)
    return parser


#: The commands that run the Great Expectations checkpoint, whose custom expectation is pinned to a GX
#: minor version (``gx_pin``).
VALIDATING_COMMANDS = (
    pipeline.cmd_run,
    pipeline.cmd_validate,
    publication.cmd_publish,
    pipeline.cmd_airflow_run,
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from complaints_warehouse.errors import WarehouseError, exit_code
    from complaints_warehouse.settings import load_settings

    try:
        if args.handler in VALIDATING_COMMANDS:  # refused before a run loads or builds anything
            from complaints_warehouse.gx_pin import require_pinned_gx

            require_pinned_gx()
        return args.handler(args, load_settings())
    except WarehouseError as exc:  # the exit code by the error's kind: the one table in errors.py
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
