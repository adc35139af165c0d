"""Publication: publish, verify, known-issue, restatements."""

from __future__ import annotations

from datetime import date

from complaints_warehouse.cli.common import EXIT_OK, EXIT_TAMPERED, MARTS_WAIT, _day, _echo, _month


def add_publish(sub) -> None:
    p = sub.add_parser(
        "publish", help="validate, then publish (freeze) a month's BMMR; a changed month gets a new version"
    )
    p.add_argument("--month", type=_month, help="YYYY-MM (default: the latest complete month)")
    p.add_argument("--wait", **MARTS_WAIT)
    p.set_defaults(handler=cmd_publish)


def add_verify(sub) -> None:
    p = sub.add_parser(
        "verify",
        help="check every published figure against its checksum and the publication chain (exit 5 if tampered)",
    )
    p.add_argument(
        "--head", metavar="HASH", help="a chain head printed earlier (verify, a BMMR pack): still there?"
    )
    p.set_defaults(handler=cmd_verify)


def add_known_issue(sub) -> None:
    p = sub.add_parser(
        "known-issue",
        help="signed-off validation failures the publication gate lets through: add, list, withdraw, failures",
        description="A known issue lets publication go on despite a failed expectation, for the failing rows "
        "it names, until it expires or is withdrawn; the BMMR pack shows it. See docs/publication.md.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="record a signed-off known issue")
    a.add_argument("--expectation", required=True, help="the expectation's name, as validation reports it")
    a.add_argument(
        "--row",
        action="append",
        required=True,
        metavar="COLUMN=VALUE[,COLUMN=VALUE]",
        help="a failing row it covers (repeat for each; `known-issue failures` prints them), or a JSON object",
    )
    a.add_argument("--reason", required=True, help="why publication may go on despite it")
    a.add_argument("--signed-off-by", required=True, help="who signed it off (name and role)")
    a.add_argument(
        "--expires", required=True, type=_day, help="YYYY-MM-DD: from this day on it no longer covers"
    )
    w = actions.add_parser("withdraw", help="withdraw a known issue (recorded; it stops covering at once)")
    w.add_argument("issue", type=int, help="the issue's number (#N in `known-issue list`)")
    w.add_argument("--reason", required=True)
    w.add_argument("--signed-off-by", required=True)
    li = actions.add_parser("list", help="the active known issues (--all: expired and withdrawn too)")
    li.add_argument("--all", action="store_true")
    actions.add_parser(
        "failures", help="the latest failed validation's expectations and rows, ready for `add`"
    )
    p.set_defaults(handler=cmd_known_issue)


def add_restatements(sub) -> None:
    p = sub.add_parser("restatements", help="print every published BMMR figure a later version restated")
    p.add_argument("--month", type=_month, help="only this month, YYYY-MM")
    p.set_defaults(handler=cmd_restatements)


def cmd_publish(args, settings) -> int:
    """Validate the warehouse as it is now, then publish from that validation (never unvalidated): the
    marts are held from the validation to the publication, so no build can change them in between."""
    import getpass

    from complaints_warehouse import integrity, pipeline, publish
    from complaints_warehouse.warehouse import database
    from complaints_warehouse.warehouse.locks import marts_lock

    # The marts first: a command that must wait learns it at once, before its DDL queues behind another's.
    target = database.resolve(settings)
    run_id = pipeline.new_run_id("cli-publish")
    with marts_lock(target, wait_s=args.wait, purpose=f"publish ({run_id})", echo=_echo):
        pipeline.prepare(settings, target)
        with database.connect(target) as conn:  # a tampered record refuses at once, before validating
            integrity.refuse_if_tampered(conn, "Publication")
        pipeline.step_validate(settings, target, run_id, echo=_echo)
        month = date.fromisoformat(f"{args.month}-01") if args.month else None
        result = publish.publish_month(
            target, run_id, month=month, published_by=f"{getpass.getuser()} (complaints-warehouse publish)"
        )
    _echo(result.message)
    return EXIT_OK


def cmd_verify(args, settings) -> int:
    """Check every publication's figures against its checksum and the publication chain; exit 5 naming
    each problem, or 0 with the chain's head (to keep, e.g. on the signed-off pack)."""
    from complaints_warehouse import integrity, pipeline
    from complaints_warehouse.warehouse import database

    target = pipeline.prepare(settings)
    with database.connect(target) as conn:
        problems = integrity.verify_publications(conn)
        head = integrity.chain_head(conn)
        count = conn.execute("select count(*) from published.bmmr_publications").fetchone()[0]
        anchored = integrity.head_known(conn, args.head) if args.head else True
    if args.head and not anchored:
        problems.append(
            integrity.Problem(
                None,
                None,
                f"the chain no longer contains {args.head}: the publication it headed, or one before it, "
                "was removed or changed",
            )
        )
    if problems:
        _echo(f"The published record has been tampered with: {len(problems)} problem(s):")
        for problem in problems:
            _echo(f"  - {problem}")
        return EXIT_TAMPERED
    if head is None:
        _echo("Nothing has been published yet: nothing to verify.")
    else:
        _echo(
            f"Verified {count} publication(s): every figure matches its checksum and the chain is unbroken. "
            f"Chain head: position {head[0]}, {head[1]}"
        )
    return EXIT_OK


def cmd_known_issue(args, settings) -> int:
    """Record, list or withdraw a signed-off known issue; or list the latest failures to sign off."""
    import getpass

    from complaints_warehouse import known_issues, pipeline
    from complaints_warehouse.warehouse import database

    target = pipeline.prepare(settings)
    recorded_by = f"{getpass.getuser()} (complaints-warehouse known-issue)"
    if args.action == "add":
        issue = known_issues.add(
            target,
            expectation=args.expectation,
            rows=[known_issues.parse_row(r) for r in args.row or []],
            reason=args.reason,
            signed_off_by=args.signed_off_by,
            expires_on=date.fromisoformat(args.expires),
            recorded_by=recorded_by,
        )
        _echo(
            f"Recorded known issue #{issue}: {args.expectation!r}, {len(args.row)} row(s), signed off by "
            f"{args.signed_off_by}, expires {args.expires}. The publication gate honours it from the next "
            "validation (`complaints-warehouse publish`)."
        )
    elif args.action == "withdraw":
        known_issues.withdraw(
            target, args.issue, reason=args.reason, signed_off_by=args.signed_off_by, recorded_by=recorded_by
        )
        _echo(f"Withdrew known issue #{args.issue}: it no longer covers any failure.")
    else:
        with database.connect(target) as conn:
            if args.action == "failures":
                _echo(known_issues.format_failures(*known_issues.latest_failures(conn)))
            else:
                _echo(known_issues.format_issues(known_issues.issues(conn, active_only=not args.all)))
    return EXIT_OK


def cmd_restatements(args, settings) -> int:
    from complaints_warehouse import pipeline, publish

    target = pipeline.prepare(settings)
    month = date.fromisoformat(f"{args.month}-01") if args.month else None
    _echo(publish.format_restatements(publish.restatements(target, month)))
    return EXIT_OK
