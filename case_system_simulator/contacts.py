"""Complainants of the simulated system: invented, deterministic, and plainly personal data."""

from __future__ import annotations

import random
from datetime import date, timedelta

from case_system_simulator.plan import stamp

FORENAMES = (
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Arthur",
    "Ivy",
    "Leo",
    "Grace",
    "Harry",
    "Priya",
    "Mohammed",
    "Zofia",
    "Chidi",
    "Siobhan",
    "Wei",
    "Fatima",
    "Tomasz",
)
SURNAMES = (
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Khan",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "Nowak",
    "Okafor",
    "O'Brien",
    "Chen",
    "Hughes",
)
STREETS = ("High Street", "Church Lane", "Mill Road", "Station Road", "Victoria Avenue", "Park Crescent")


def contact_row(contact_no: str, council: str, first_seen: date) -> tuple:
    rng = random.Random(contact_no)
    forename, surname = rng.choice(FORENAMES), rng.choice(SURNAMES)
    return (
        contact_no,
        council,
        forename,
        surname,
        f"{forename}.{surname}{rng.randint(1, 99)}@example.org".lower().replace("'", ""),
        f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
        f"OX{rng.randint(1, 29)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
        date(1940, 1, 1) + timedelta(days=rng.randint(0, 365 * 80)),
        rng.choice(["female", "male", None]),
        rng.choice(["White British", "Asian or Asian British", "Black or Black British", "Mixed", None]),
        rng.choice(["yes", "no", None]),
        stamp(first_seen),
    )
