"""Catalogue entries for sums of money: the marts hold pounds and pence as numeric(12,2), so an amount with
fractions of a penny (which would be rounded) or beyond the contract's £10m (a keying error that would also
overflow the BMMR's sums and stop the night's build) is quarantined with its reason and raw text."""

from __future__ import annotations

from .catalogue import BadInput, Quarantined, _case_table

ENTRIES: tuple[BadInput, ...] = (
    BadInput(
        "payment-fraction-of-a-penny",
        "case system rows",
        "landing",
        "a payment with fractions of a penny (`250.005`)",
        _case_table("payments", {"amount": "250.005"}),
        Quarantined("amount has more than 2 decimal places: 250.005", loaded=1),
        notes="numeric(12,2) in the marts would round it to 250.01: quarantined instead, nothing rounded away.",
    ),
    BadInput(
        "payment-amount-too-large",
        "case system rows",
        "landing",
        "a payment of £25 billion (`25000000000`), a keying error",
        _case_table("payments", {"amount": "25000000000"}),
        Quarantined("amount above 10,000,000: 25000000000", loaded=1),
        notes="Beyond numeric(12,2) it would stop the night's dbt build; above £10m is taken for a keying error.",
    ),
    BadInput(
        "stage-investigation-cost-fraction-of-a-penny",
        "case system rows",
        "landing",
        "an investigation cost with three decimal places (`1200.125`)",
        _case_table("stages", {"investigation_cost": "1200.125"}),
        Quarantined("investigation_cost has more than 2 decimal places: 1200.125", loaded=1),
    ),
)
