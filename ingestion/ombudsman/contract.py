"""The warehouse's canonical input format for the Ombudsman's (LGSCO) data.

Published spreadsheets (CSV or XLSX, headers and labels varying by year) are first mapped onto these
columns by ``ingestion.ombudsman.normalise`` through the versioned files in ``mappings/``; the loader
then checks every row against these contracts.

Annual statistics: one row per council and financial year ("2023/24"). Rates are kept exactly as
published (whole percentages); the warehouse recomputes them from the counts so that a mismatch is
visible. An empty rate means the Ombudsman published none (e.g. no detailed investigations), never zero.
"""

from __future__ import annotations

from ingestion.contract import Column, RowRule, TableContract

SOURCE = "ombudsman"
AUTHORITY_TYPES = ("County", "District", "Metropolitan Borough", "Unitary", "London Borough")
DECISIONS = (
    "Upheld",
    "Not upheld",
    "Advice given",
    "Closed after initial enquiries",
    "Incomplete/Invalid",
    "Referred back for local resolution",
)

#: The same key the reference data matches on: case, spacing and "&" vs "and" do not matter.
NAME_KEY_SQL = "lower(regexp_replace(replace(btrim({name}), '&', 'and'), '\\s+', ' ', 'g'))"

#: The authority a published name means: the ONS code of its latest entry in the reference list of names
#: and variants (the name's own key when it is not listed: such a row is quarantined anyway). Rows are
#: keyed by it, so a republished file that spells an authority differently ("Worcestershire CC") replaces
#: the earlier figures of that authority and year instead of standing beside them. The reference columns
#: are renamed so that {value} can only mean the row being keyed.
RESOLVED_AUTHORITY_SQL = (
    "coalesce((select n.code from (select authority_name as variant, ons_code as code, "
    "_batch_id as batch, _row_number as rn, _is_deleted as deleted "
    "from raw_reference.authority_names) n where not n.deleted "
    r"and lower(regexp_replace(replace(btrim(n.variant), '&', 'and'), '\s+', ' ', 'g')) "
    r"= lower(regexp_replace(replace(btrim({value}), '&', 'and'), '\s+', ' ', 'g')) "
    "order by n.batch desc, n.rn desc nulls first limit 1), "
    r"lower(regexp_replace(replace(btrim({value}), '&', 'and'), '\s+', ' ', 'g')))"
)

UNMATCHED_AUTHORITY = RowRule(
    "authority not in the reference list of authorities and their name variants "
    "(ingestion/reference/data/authority_names.csv)",
    # NAME_KEY_SQL on both sides. The reference column is renamed so that {authority_name} can only
    # mean the row being checked.
    "not exists (select 1 from (select authority_name as variant from raw_reference.authority_names) n "
    r"where lower(regexp_replace(replace(btrim(n.variant), '&', 'and'), '\s+', ' ', 'g')) "
    r"= lower(regexp_replace(replace(btrim({authority_name}), '&', 'and'), '\s+', ' ', 'g')))",
    ("authority_name",),
)
AUTHORITY_NOT_IN_EXISTENCE = RowRule(
    "authority did not exist in that financial year (see valid_from / valid_to in authorities.csv)",
    # Authorities merge: Cumbria County Council ended on 2023-03-31. Only a well-formed year is compared.
    r"{financial_year} ~ '^\d{{4}}/\d{{2}}$' and exists (select 1 from "
    "(select authority_name as variant, ons_code as code from raw_reference.authority_names) n "
    "join (select ons_code as code, valid_from, valid_to from raw_reference.authorities) a using (code) "
    r"where lower(regexp_replace(replace(btrim(n.variant), '&', 'and'), '\s+', ' ', 'g')) "
    r"= lower(regexp_replace(replace(btrim({authority_name}), '&', 'and'), '\s+', ' ', 'g')) "
    "and (make_date(left({financial_year}, 4)::int, 4, 1) > coalesce(a.valid_to, 'infinity'::date) "
    "or make_date(left({financial_year}, 4)::int + 1, 3, 31) < coalesce(a.valid_from, '-infinity'::date)))",
    ("authority_name", "financial_year"),
)
FINANCIAL_YEAR_FORMAT = RowRule(
    "financial_year is not written like 2023/24",
    r"case when {financial_year} ~ '^\d{{4}}/\d{{2}}$' "
    r"then right({financial_year}, 2)::int <> (left({financial_year}, 4)::int + 1) % 100 else true end",
    ("financial_year",),
)
REFERENCE_FORMAT = RowRule(
    "reference is not an Ombudsman reference like 22 001 239",
    r"{reference} !~ '^\d{{2}} \d{{3}} \d{{3}}$'",
    ("reference",),
)
LINEAGE = (
    Column("source_row", "integer", description="The row of the published file this row came from."),
    Column("mapping_version", "integer", description="The version of the header/label mapping that read it."),
)


def _pct(name: str, description: str) -> Column:
    return Column(name, "numeric", min_value=0, max_value=100, description=description)


def _count(name: str, description: str = "") -> Column:
    return Column(name, "integer", min_value=0, description=description)


RECEIVED = tuple(
    _count(f"received_{category}", f"Complaints and enquiries received: {label}.")
    for category, label in (
        ("total", "all categories"),
        ("adult_care", "Adult care services"),
        ("education_childrens", "Education and children's services"),
        ("highways_transport", "Highways and transport"),
        ("corporate_other", "Corporate and other services"),
        ("benefits_tax", "Benefits and tax"),
        ("housing", "Housing"),
        ("planning", "Planning and development"),
        ("environment_regulation", "Environmental services, public protection and regulation"),
        ("other", "Other"),
    )
)

ANNUAL_STATISTICS = TableContract(
    source=SOURCE,
    name="annual_statistics",
    description="The Ombudsman's published annual statistics, one row per council and financial year.",
    key=("authority_name", "financial_year"),
    columns=(
        Column("authority_name", required=True, key_as=RESOLVED_AUTHORITY_SQL),
        Column("authority_type", codes=AUTHORITY_TYPES),
        Column("financial_year", required=True, description='April to March, written "2023/24".'),
        *RECEIVED,
        _count("upheld", "Decisions: upheld."),
        _count("not_upheld", "Decisions: not upheld."),
        _count("advice_given", "Decisions: advice given."),
        _count("closed_after_initial_enquiries", "Decisions: closed after initial enquiries."),
        _count("incomplete_invalid", "Decisions: incomplete or invalid."),
        _count("referred_back", "Decisions: referred back for local resolution."),
        _count("decided_not_for_us", "Decisions grouped as 'Not for us' (recent pages)."),
        _count("decided_assessed_and_closed", "Decisions grouped as 'Assessed and closed'."),
        _count("decided_investigated", "Decisions grouped as 'Investigated'."),
        _count("detailed_investigations", "Upheld plus not upheld."),
        _pct("uphold_rate_pct", "Upheld / detailed investigations, as published."),
        _pct("similar_authority_uphold_rate_pct", "Average uphold rate of similar authorities."),
        _count("compliance_outcomes", "Recommendations whose compliance the Ombudsman recorded."),
        _pct("compliance_rate_pct", "Compliance with the Ombudsman's recommendations, as published."),
        _pct("similar_authority_compliance_rate_pct", "Average compliance rate of similar authorities."),
        _count("satisfactory_remedies", "Upheld cases the council had already remedied satisfactorily."),
        _pct("satisfactory_remedy_rate_pct", "Satisfactory remedies / upheld, as published."),
        _pct("similar_authority_satisfactory_remedy_rate_pct", "Average of similar authorities."),
        Column("upheld_per_100k", "numeric", min_value=0),
        Column("similar_authority_upheld_per_100k", "numeric", min_value=0),
        *LINEAGE,
    ),
    rules=(
        FINANCIAL_YEAR_FORMAT,
        UNMATCHED_AUTHORITY,
        AUTHORITY_NOT_IN_EXISTENCE,
        RowRule(
            "more upheld than detailed investigations",
            "{upheld} > {detailed_investigations}",
            ("upheld", "detailed_investigations"),
        ),
        RowRule(
            "detailed investigations are not upheld + not upheld",
            "{detailed_investigations} <> {upheld} + {not_upheld}",
            ("detailed_investigations", "upheld", "not_upheld"),
        ),
        RowRule(
            "more satisfactory remedies than upheld",
            "{satisfactory_remedies} > {upheld}",
            ("satisfactory_remedies", "upheld"),
        ),
        RowRule(
            "an uphold rate is published for a year with no detailed investigations",
            "{detailed_investigations} = 0",
            ("detailed_investigations", "uphold_rate_pct"),
        ),
    ),
)

DECISION_RECORDS = TableContract(
    source=SOURCE,
    name="decisions",
    description="The Ombudsman's published decisions, one row per case reference.",
    key=("reference",),
    columns=(
        Column("reference", required=True, description="The Ombudsman's reference, written 22 001 239."),
        Column("authority_name", required=True),
        Column("category", required=True, description='e.g. "Adult care services".'),
        Column("subcategory", description='e.g. "Direct payments".'),
        Column("decision", required=True, codes=DECISIONS),
        Column("decision_date", "date", required=True),
        Column("summary", description="The published summary; remedies appear only here."),
        *LINEAGE,
    ),
    rules=(REFERENCE_FORMAT, UNMATCHED_AUTHORITY),
)

COUNCIL_CASES = TableContract(
    source=SOURCE,
    name="council_cases",
    description=(
        "The case-by-case spreadsheets the Ombudsman sends the council privately: received, decided "
        "and compliance outcomes, one row per case reference (the latest delivery wins)."
    ),
    key=("reference",),
    columns=(
        Column("reference", required=True, description="The Ombudsman's reference, written 22 001 239."),
        Column("authority_name", required=True),
        Column("category"),
        Column("received_date", "date"),
        Column("decision", codes=DECISIONS),
        Column("decision_date", "date"),
        Column("remedy_due_date", "date"),
        Column("remedy_completed_date", "date"),
        Column("compliance_outcome", codes=("Complied", "Complied late", "Not complied", "Awaiting")),
        *LINEAGE,
    ),
    rules=(
        REFERENCE_FORMAT,
        UNMATCHED_AUTHORITY,
        RowRule(
            "decided before it was received",
            "{decision_date} < {received_date}",
            ("decision_date", "received_date"),
        ),
    ),
)

TABLES = (ANNUAL_STATISTICS, DECISION_RECORDS, COUNCIL_CASES)
