"""Reports: report (bmmr, annual, ombudsman), explain."""

from __future__ import annotations

import sys
from datetime import date

from complaints_warehouse.cli.common import EXIT_OK, _echo, _financial_year, _month
from complaints_warehouse.errors import exit_code


def add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write a report (self-contained HTML in outputs/reports/): bmmr, annual or ombudsman",
        description="Write a report as one self-contained HTML page under outputs/reports/ (the annual "
        "report also as CSV). --public suppresses small numbers (WAREHOUSE_SUPPRESSION_THRESHOLD, default 5).",
    )
    reports = p.add_subparsers(dest="report", required=True, metavar="REPORT")
    r = reports.add_parser("bmmr", help="the BMMR pack of a published month (published figures only)")
    r.add_argument("--month", type=_month, help="YYYY-MM (default: the latest published month)")
    r = reports.add_parser("annual", help="the statutory annual report of a financial year, and its CSV")
    r.add_argument("--year", type=_financial_year, help="e.g. 2023/24 (default: the latest complete year)")
    r.add_argument(
        "--procedure",
        default="all",
        help="corporate, childrens_statutory, childrens_non_statutory, adults_statutory, or all (default)",
    )
    r = reports.add_parser(
        "ombudsman", help="the Ombudsman benchmark against similar authorities, and reconciliation"
    )
    r.add_argument(
        "--authority",
        help="the council, a name or ONS code (default: WAREHOUSE_COUNCIL, else every authority held)",
    )
    for r in reports.choices.values():
        r.add_argument("--public", action="store_true", help="for publication: suppress small numbers")
    p.set_defaults(handler=cmd_report)


def add_explain(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="the pseudonymous cases behind a published BMMR figure, and the month's cases CSV",
        description="List the cases behind one published BMMR figure (a count is the number of its cases, "
        "a sum of money their amounts, a percentage the ratio of two listed counts) and write every figure of "
        "the month, case by case, to outputs/reports/bmmr-pack-<month>-cases.csv (internal). Exit 1 when the "
        "cases no longer add up to the published figure (the marts moved since publication).",
    )
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM, a published month")
    p.add_argument("--measure", required=True, help="a BMMR measure, e.g. complaints_received")
    p.add_argument("--period", default="month", choices=("month", "financial_year_to_date"))
    p.add_argument("--directorate", help="one directorate (default: all)")
    p.add_argument("--procedure", help="one procedure code (default: all)")
    p.add_argument(
        "--limit", type=int, default=200, help="cases printed at most (default 200; all in the CSV)"
    )
    p.set_defaults(handler=cmd_explain)


def cmd_report(args, settings) -> int:
    """Write one report; prints the paths written. Nothing to report yet is a clear message, exit 1."""
    from complaints_warehouse import pipeline, reports
    from complaints_warehouse.reports import annual_report, bmmr_pack, ombudsman_benchmark

    if args.public and settings.suppression_threshold > 1:
        _echo(
            f"Public output: counts from 1 to {settings.suppression_threshold - 1} are suppressed "
            "(WAREHOUSE_SUPPRESSION_THRESHOLD)."
        )
    target = pipeline.prepare(settings)
    try:
        if args.report == "bmmr":
            month = date.fromisoformat(f"{args.month}-01") if args.month else None
            paths = bmmr_pack.write(settings, target, month=month, public=args.public)
        elif args.report == "annual":
            paths = annual_report.write(
                settings, target, year=args.year, procedure=args.procedure, public=args.public
            )
        else:
            paths = ombudsman_benchmark.write(settings, target, authority=args.authority, public=args.public)
    except reports.ReportUnavailable as exc:  # nothing to report yet: said plainly, not as an error
        _echo(f"Not written: {exc}")
        return exit_code(exc)
    for path in paths:
        _echo(str(path))
    return EXIT_OK


def cmd_explain(args, settings) -> int:
    """``complaints-warehouse explain``: 0 when the cases add up to the published figure, 1 when they do
    not (the marts moved since publication) or the month is not published, 2 for a figure the month did
    not publish."""
    from complaints_warehouse import outputs, pipeline
    from complaints_warehouse.reports import ReportUnavailable
    from complaints_warehouse.reports.bmmr_explain import (
        explain,
        format_explanation,
        write_month_csv,
    )

    month = date.fromisoformat(f"{args.month}-01")
    target = pipeline.prepare(settings)
    try:
        explanation = explain(
            target,
            month,
            args.measure,
            period=args.period,
            directorate=args.directorate,
            procedure=args.procedure,
        )
    except ReportUnavailable as exc:  # the month is not published: said plainly, not as an error
        _echo(f"Not explained: {exc}")
        return exit_code(exc)
    try:
        explanation.csv_path = write_month_csv(settings, target, month)
    except (OSError, outputs.OutputNotWritten) as exc:  # a read-only or full outputs folder: say which
        print(
            f"error: cannot write the month's cases CSV in {settings.outputs_dir / 'reports'}: "
            f"{getattr(exc, 'strerror', None) or exc} (WAREHOUSE_OUTPUTS_DIR)",
            file=sys.stderr,
        )
        return 2
    _echo(format_explanation(explanation, limit=args.limit))
    return 0 if explanation.matches and not explanation.moved else 1
