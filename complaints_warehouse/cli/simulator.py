"""The simulated council case system the demo pulls from: simulator create, advance, status."""

from __future__ import annotations

from datetime import date

from complaints_warehouse.cli.common import EXIT_OK, EXIT_SETTINGS, _echo


def add_simulator(sub) -> None:
    p = sub.add_parser("simulator", help="the simulated council case system the demo pulls from")
    p.add_argument("action", choices=["create", "advance", "status"])
    p.add_argument("--councils", type=int, default=1, help="create: how many councils (default 1)")
    p.add_argument("--start", default="2023-04-01", help="create: first day of cases (default 2023-04-01)")
    p.add_argument(
        "--until", default="2024-03-31", help="create: the system's current day (default 2024-03-31)"
    )
    p.add_argument("--seed", type=int, default=42, help="create: the random seed (default 42)")
    p.add_argument("--if-missing", action="store_true", help="create: keep an existing simulated system")
    p.add_argument("--days", type=int, default=1, help="advance: how many days (default 1)")
    p.set_defaults(handler=cmd_simulator)


def cmd_simulator(args, settings) -> int:
    from complaints_warehouse import pipeline, simulated_source

    target = pipeline.prepare(settings)
    if args.action == "create":
        sim, created = simulated_source.ensure(
            target,
            councils=args.councils,
            start=date.fromisoformat(args.start),
            until=date.fromisoformat(args.until),
            seed=args.seed,
            replace=not args.if_missing,
        )
        if created is None:
            _echo(f"The simulated case system exists (its day is {sim.today}); left as it is.")
        else:
            _echo(
                f"Created the simulated case system up to {args.until}: "
                + ", ".join(f"{v} {k}" for k, v in created.items())
            )
        return EXIT_OK
    sim = simulated_source.simulator(target)
    if not sim.exists():
        _echo("There is no simulated case system yet: run `complaints-warehouse simulator create`.")
        return EXIT_SETTINGS
    if args.action == "advance":
        for day in sim.advance(args.days):
            _echo(", ".join(f"{k} {v if not isinstance(v, list) else len(v)}" for k, v in day.items()))
    else:
        _echo(f"Simulated case system: its day is {sim.today}; state {sim.state()}")
    return EXIT_OK
