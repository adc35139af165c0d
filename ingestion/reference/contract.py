"""Reference data the Ombudsman figures are matched and scaled with, as loaded source tables.

Authorities are loaded before any Ombudsman file, because the Ombudsman contracts quarantine a row whose
authority matches no name or variant here (unmatched names are listed in the quarantine, never dropped).
"""

from __future__ import annotations

from ingestion.contract import Column, RowRule, TableContract
from ingestion.ombudsman.contract import AUTHORITY_TYPES

SOURCE = "reference"
ONS_CODE_FORMAT = RowRule(
    "ons_code is not an ONS local authority code like E10000025",
    r"{ons_code} !~ '^E(06|07|08|09|10)\d{{6}}$'",
    ("ons_code",),
)

AUTHORITIES = TableContract(
    source=SOURCE,
    name="authorities",
    description="English councils: ONS code, type (the Ombudsman's similar-authority group), region, validity.",
    key=("ons_code",),
    columns=(
        Column("ons_code", required=True, description="ONS code, e.g. E10000025."),
        Column("authority_name", required=True, description="The authority's official name."),
        Column("authority_type", required=True, codes=AUTHORITY_TYPES),
        Column("region", required=True, description="ONS region (former Government Office Region)."),
        Column("valid_from", "date", description="First day the authority existed; empty: before the data."),
        Column("valid_to", "date", description="Last day it existed; empty while it exists."),
        Column(
            "successor_codes", description="ONS codes of the authorities that replaced it, ';'-separated."
        ),
    ),
    rules=(
        ONS_CODE_FORMAT,
        RowRule("valid_to before valid_from", "{valid_to} < {valid_from}", ("valid_to", "valid_from")),
    ),
)

AUTHORITY_NAMES = TableContract(
    source=SOURCE,
    name="authority_names",
    description="Every name an authority appears under (its own, 'CC' forms, short forms) -> its ONS code.",
    key=("authority_name",),
    columns=(
        Column("authority_name", required=True, description='A name as published, e.g. "Oxfordshire CC".'),
        Column("ons_code", required=True, description="The authority it means."),
    ),
    rules=(ONS_CODE_FORMAT,),
)

POPULATION = TableContract(
    source=SOURCE,
    name="population",
    description=(
        "Mid-year resident population by authority (ONS mid-year estimates), one row per edition of each "
        "estimate (a mid-year is revised by later editions), for per-100,000 rates."
    ),
    key=("ons_code", "mid_year", "source"),
    columns=(
        Column("ons_code", required=True),
        Column("mid_year", "integer", required=True, min_value=1990, max_value=2100),
        Column("population", "integer", required=True, min_value=1),
        Column(
            "published_on",
            "date",
            description="The day the ONS published this edition; empty when not known (a dropped-in file).",
        ),
        Column("source", required=True, description="The edition: which ONS release the figure comes from."),
    ),
    rules=(ONS_CODE_FORMAT,),
)

TABLES = (AUTHORITIES, AUTHORITY_NAMES, POPULATION)
