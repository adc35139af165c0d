"""The BMMR's measure list, key columns and rates, read from the one place they are defined: the dbt macros
in ``dbt_project/macros/bmmr_measures.sql`` (rendered with Jinja2, as dbt renders them). No copy in Python:
a measure added to the macro reaches the models, publication, the GX suites and the reports alike.

And the one unpivot of the BMMR (``cells_sql``): a wide ``bmmr_monthly`` row as one row per figure.
"""

from __future__ import annotations

from functools import cache

import jinja2
from jinja2.ext import do

from complaints_warehouse.settings import PROJECT_DIR

MACROS = PROJECT_DIR / "dbt_project" / "macros" / "bmmr_measures.sql"


class _Returned(Exception):
    def __init__(self, value):
        self.value = value


def _return(value):
    raise _Returned(value)


@cache
def _module():
    env = jinja2.Environment(extensions=[do], undefined=jinja2.StrictUndefined)
    env.globals["return"] = _return
    template = env.from_string(MACROS.read_text(encoding="utf-8"))
    return template.make_module()


def macro(name: str, **arguments):
    """The value a list-returning macro of bmmr_measures.sql returns (``{{ return(...) }}``)."""
    try:
        getattr(_module(), name)(**arguments)
    except _Returned as returned:
        return returned.value
    raise RuntimeError(f"{MACROS}: macro {name} returned nothing")  # pragma: no cover - a broken macro file


#: The BMMR's identifying columns; every other column of a bmmr_monthly row is a measure.
KEY_COLUMNS: tuple[str, ...] = tuple(macro("bmmr_key_columns"))
#: The countable measures, in the BMMR's order.
COUNTS: tuple[str, ...] = tuple(macro("bmmr_count_columns"))
#: Money, with the count it rests on (suppressed together in public output).
AMOUNTS: dict[str, str] = dict(macro("bmmr_amount_columns"))
#: The outcome counts (they add up to outcomes_recorded).
OUTCOMES: tuple[str, ...] = tuple(macro("bmmr_outcome_columns"))
#: The rates bmmr_monthly publishes: {rate: (numerator, denominator)}.
MONTHLY_RATES: dict[str, tuple[str, str]] = {
    rate: (num, den) for rate, num, den in macro("bmmr_rates", as_published=True)
}
#: The reporting models' rates: {rate: (numerator, denominator)}.
RATES: dict[str, tuple[str, str]] = {rate: (num, den) for rate, num, den in macro("bmmr_rates")}
#: Every count a reporting row carries (outcomes recorded is the sum of the outcomes).
MEASURES: tuple[str, ...] = (*COUNTS, "outcomes_recorded")


def ratio_sql(numerator: str, denominator: str) -> str:
    """The one ratio rule, as SQL for PostgreSQL to run: the dbt macro ``bmmr_ratio`` (100 x numerator /
    denominator to one decimal, empty for x / 0) rendered with ``numerator`` and ``denominator`` (SQL
    expressions). Python never divides a figure: code that needs a rate the models do not hold (``explain``'s
    recount from cases) has PostgreSQL compute it by the macro the models use."""
    return str(_module().bmmr_ratio(numerator, denominator)).strip()


def cells_sql(relation: str, alias: str = "b", drop: tuple[str, ...] = KEY_COLUMNS) -> str:
    """The FROM clause that unpivots ``relation`` (BMMR rows) into one row per figure: ``{alias}`` is the
    row and ``kv`` (key = measure, value = the figure as text) each of its figures. Every column but the key
    columns is taken, so checks and copies apply to measures added later without listing them. The one
    unpivot of the BMMR: publication, the validated checksums and the GX suites all use it; ``drop``, the
    columns that are not figures, when ``relation`` is another model of BMMR figures (constants from code)."""
    dropped = " ".join(f"- '{c}'" for c in drop)
    return f"{relation} {alias} cross join lateral jsonb_each_text(to_jsonb({alias}) {dropped}) kv"
