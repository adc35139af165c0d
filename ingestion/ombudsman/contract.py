"""The warehouse's input format for the Ombudsman's per-council annual statistics.

One row per council and financial year ("2023/24"). Rates are kept exactly as published (whole
percentages); the warehouse recomputes them from the counts so that a mismatch is visible.
An empty rate means the Ombudsman published none (e.g. no detailed investigations), never zero.
"""

from __future__ import annotations

from ingestion.contract import Column, RowRule, TableContract

SOURCE = "ombudsman"
AUTHORITY_TYPES = ("County", "District", "Metropolitan Borough", "Unitary", "London Borough")


def _pct(name: str, description: str) -> Column:
    return Column(name, "numeric", min_value=0, max_value=100, description=description)


ANNUAL_STATISTICS = TableContract(
    source=SOURCE,
    name="annual_statistics",
    description="The Ombudsman's published annual statistics, one row per council and financial year.",
    key=("authority_name", "financial_year"),
    columns=(
        Column("authority_name", required=True),
        Column("authority_type", codes=AUTHORITY_TYPES),
        Column("financial_year", required=True, description='April to March, written "2023/24".'),
        Column("detailed_investigations", "integer", min_value=0, description="Upheld plus not upheld."),
        Column("upheld", "integer", min_value=0),
        _pct("uphold_rate_pct", "Upheld / detailed investigations, as published."),
        _pct("similar_authority_uphold_rate_pct", "Average uphold rate of similar authorities."),
        _pct("compliance_rate_pct", "Compliance with the Ombudsman's recommendations, as published."),
        Column("satisfactory_remedies", "integer", min_value=0),
        _pct("satisfactory_remedy_rate_pct", "Satisfactory remedies / upheld, as published."),
        _pct("similar_authority_satisfactory_remedy_rate_pct", "Average of similar authorities."),
        Column("upheld_per_100k", "numeric", min_value=0),
        Column("similar_authority_upheld_per_100k", "numeric", min_value=0),
    ),
    rules=(
        RowRule(
            "financial_year is not written like 2023/24",
            r"case when {financial_year} ~ '^\d{{4}}/\d{{2}}$' "
            r"then right({financial_year}, 2)::int <> (left({financial_year}, 4)::int + 1) % 100 else true end",
            ("financial_year",),
        ),
        RowRule(
            "more upheld than detailed investigations",
            "{upheld} > {detailed_investigations}",
            ("upheld", "detailed_investigations"),
        ),
        RowRule(
            "more satisfactory remedies than upheld",
            "{satisfactory_remedies} > {upheld}",
            ("satisfactory_remedies", "upheld"),
        ),
    ),
)

TABLES = (ANNUAL_STATISTICS,)
