"""Personal data: retention purge, subject-access."""

from __future__ import annotations

from pathlib import Path

from complaints_warehouse.cli.common import EXIT_FAILED, EXIT_OK, _echo


def add_retention(sub) -> None:
    p = sub.add_parser(
        "retention",
        help="purge complainants' personal data past its retention period (WAREHOUSE_RETENTION_YEARS)",
    )
    p.add_argument("action", choices=["purge"])
    p.add_argument(
        "--dry-run", action="store_true", help="count what would be purged (recorded), change nothing"
    )
    p.set_defaults(handler=cmd_retention)


def add_subject_access(sub) -> None:
    p = sub.add_parser(
        "subject-access", help="export everything held about one complainant (subject-access request) to JSON"
    )
    p.add_argument("subject", help="the case system's complainant reference, or the complainant's pseudonym")
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the JSON file to write, new, readable by you only (personal data: keep it safe)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace FILE if it exists (with a new file readable by you only)",
    )
    p.set_defaults(handler=cmd_subject_access)


def cmd_retention(args, settings) -> int:
    """Purge personal data past its retention period (or, with --dry-run, count what would go)."""
    import getpass

    from complaints_warehouse import pipeline

    target = pipeline.prepare(settings)
    pipeline.step_retention(
        settings,
        target,
        purged_by=f"{getpass.getuser()} (complaints-warehouse retention)",
        dry_run=args.dry_run,
        echo=_echo,
    )
    return EXIT_OK


def cmd_subject_access(args, settings) -> int:
    """Export everything held about one complainant to a JSON file, and record the export."""
    import getpass

    from complaints_warehouse import pipeline, subject_access

    target = pipeline.prepare(settings)
    try:
        export = subject_access.export_subject(
            target,
            args.subject,
            Path(args.out),
            pseudonym_key=settings.pseudonym_key(),
            exported_by=f"{getpass.getuser()} (complaints-warehouse subject-access)",
            force=args.force,
        )
    except subject_access.SubjectNotFound as exc:
        _echo(str(exc))
        return EXIT_FAILED
    _echo(
        f"Wrote {export.path} for complainant {export.pseudonym}: "
        + ", ".join(f"{section} {n}" for section, n in export.rows_by_section.items())
    )
    return EXIT_OK
