"""The canonical extract the warehouse expects from a council's complaints case system.

Codes are the warehouse's own; a source's mapping (``ingestion/mappings/*.yml``) turns a product's codes
into them. ``CONTRACT.md`` beside this file describes every table for the people who write extracts.
Every table carries ``updated_at``: the warehouse loads incrementally by it.
"""

from __future__ import annotations

from ingestion.contract import BatchRule, Column, RowRule, TableContract

SOURCE = "case_system"

REPRESENTATION_TYPES = ("complaint", "compliment", "comment", "mp_enquiry")
PROCEDURES = ("childrens_statutory", "adults_statutory", "corporate", "childrens_non_statutory")
CHANNELS = ("web", "email", "phone", "letter", "in_person", "social_media")
RISK_LEVELS = ("low", "moderate", "high")
#: Pounds and pence: the marts hold money as numeric(12,2). A value with fractions of a penny would be rounded
#: and one above £10m is taken for a keying error (it would also overflow the BMMR's sums): both quarantined.
_MONEY = {"min_value": 0, "max_value": 10_000_000, "decimal_places": 2}
STATUSES = ("open", "closed")
STAGES = ("0", "1", "2", "3", "ombudsman")
OUTCOMES = (
    "upheld",
    "partially_upheld",
    "not_upheld",
    "no_finding",
    "discontinued",
    "withdrawn",
    "redirected",
    "early_resolution",
    "not_investigated",
)
INVESTIGATORS = ("internal", "independent")
NATURES = (
    "communication",
    "delay",
    "quality_of_service",
    "staff_conduct",
    "policy_or_decision",
    "finance_and_charges",
    "assessment_and_care_planning",
    "safeguarding",
    "access_to_service",
    "other",
)
REMEDY_TYPES = ("apology", "financial", "service_improvement", "policy_change", "reassessment", "other")
RECOMMENDERS = ("council", "ombudsman")
PAYMENT_TYPES = ("time_and_trouble", "distress", "missed_provision", "refund", "other")
OMBUDSMAN_DECISIONS = (
    "upheld",
    "not_upheld",
    "advice_given",
    "closed_after_initial_enquiries",
    "incomplete_invalid",
    "referred_back_for_local_resolution",
)

_UPDATED_AT = Column(
    "updated_at", "timestamp", required=True, description="When the source last changed the row."
)


def _closes_after(later: str, earlier: str, reason: str) -> RowRule:
    return RowRule(reason, f"{{{later}}} < {{{earlier}}}", (later, earlier))


REPRESENTATIONS = TableContract(
    source=SOURCE,
    name="representations",
    description="One row per representation (complaint, compliment, comment or MP enquiry) in the case system.",
    key=("representation_id",),
    columns=(
        Column("representation_id", required=True, description="The case system's identifier for the case."),
        Column(
            "authority_code", description="The council the case belongs to, for systems shared by several."
        ),
        Column(
            "legacy_representation_id",
            description="The case's identifier in the system it was migrated from.",
        ),
        Column("representation_type", required=True, codes=REPRESENTATION_TYPES),
        Column("procedure", required=True, codes=PROCEDURES),
        Column("received_date", "date", required=True),
        Column("channel", codes=CHANNELS),
        Column("service_area_code", required=True),
        Column("service_area_name"),
        Column("directorate", required=True),
        Column("risk_level", codes=RISK_LEVELS, description="Adult social care only: low, moderate or high."),
        Column("joint_with_nhs", "boolean"),
        Column("status", required=True, codes=STATUSES),
        Column("closed_date", "date"),
        Column(
            "complainant_id",
            pseudonymise=True,
            description="The source's complainant key; stored only as a pseudonym (see restricted.complainants).",
        ),
        _UPDATED_AT,
    ),
    rules=(
        _closes_after("closed_date", "received_date", "closed before received"),
        # A date keyed wrongly (2099 for 2009) would count in no month yet in every total. A day's
        # grace: the server's clock may be in another time zone than the council's.
        RowRule("received in the future", "{received_date} > current_date + 1", ("received_date",)),
    ),
)

COMPLAINT_POINTS = TableContract(
    source=SOURCE,
    name="complaint_points",
    description="One row per point raised in a complaint, with its nature: some councils count points, not cases.",
    key=("point_id",),
    columns=(
        Column("point_id", required=True),
        Column("representation_id", required=True),
        Column("nature", required=True, codes=NATURES),
        Column("outcome", codes=OUTCOMES),
        _UPDATED_AT,
    ),
)

STAGES_TABLE = TableContract(
    source=SOURCE,
    name="stages",
    description="One row per representation and complaint stage it reached (0 early resolution, 1, 2, 3, ombudsman).",
    key=("representation_id", "stage"),
    columns=(
        Column("representation_id", required=True),
        Column("stage", required=True, codes=STAGES),
        Column("opened_date", "date", required=True),
        Column("due_date", "date"),
        Column("extended_due_date", "date"),
        Column("suspended_days", "integer", min_value=0),
        Column("responded_date", "date"),
        Column("outcome", codes=OUTCOMES),
        Column("investigator", codes=INVESTIGATORS),
        Column("investigation_cost", "numeric", **_MONEY),
        _UPDATED_AT,
    ),
    rules=(
        _closes_after("responded_date", "opened_date", "responded before opened"),
        _closes_after("due_date", "opened_date", "due before opened"),
        _closes_after("extended_due_date", "due_date", "extended due date before the original due date"),
    ),
    batch_rules=(
        BatchRule(
            "stage out of order: opened before the previous stage",
            # Stages 0-3 in number order, the Ombudsman after them; compare each with the one before it,
            # in the batch and as already held (a correction on a later night). Of two stages out of
            # order, the later is quarantined when the batch delivers it, else the batch's earlier one
            # (a Stage 1 corrected to open after the Stage 2 already held).
            """
            with staged as (
                select _row_number, {representation_id} as case_id, {opened_date} as opened,
                       case {stage} when 'ombudsman' then 4 else {stage}::int end as stage_order
                from {rows}
            )
            select coalesce(later._row_number, earlier._row_number) as _row_number
            from staged later
            join staged earlier
              on earlier.case_id = later.case_id and earlier.stage_order < later.stage_order
            where later.opened < earlier.opened
            """,
            ("representation_id", "stage", "opened_date"),
            held_group=("representation_id",),
        ),
    ),
)

REMEDIES = TableContract(
    source=SOURCE,
    name="remedies",
    description="One row per remedy agreed to put a complaint right (apology, payment, service change...).",
    key=("remedy_id",),
    columns=(
        Column("remedy_id", required=True),
        Column("representation_id", required=True),
        Column("stage", codes=STAGES),
        Column("remedy_type", required=True, codes=REMEDY_TYPES),
        Column("recommended_by", required=True, codes=RECOMMENDERS),
        Column("agreed_date", "date", required=True),
        Column("due_date", "date"),
        Column("completed_date", "date"),
        Column("amount", "numeric", **_MONEY, description="GBP, for financial remedies."),
        _UPDATED_AT,
    ),
    rules=(
        _closes_after("due_date", "agreed_date", "remedy due before it was agreed"),
        _closes_after("completed_date", "agreed_date", "remedy completed before it was agreed"),
    ),
)

PAYMENTS = TableContract(
    source=SOURCE,
    name="payments",
    description="One row per payment actually made, by date and type.",
    key=("payment_id",),
    columns=(
        Column("payment_id", required=True),
        Column("remedy_id"),
        Column("representation_id", required=True),
        Column("payment_date", "date", required=True),
        Column("amount", "numeric", required=True, **_MONEY, description="GBP."),
        Column("payment_type", required=True, codes=PAYMENT_TYPES),
        _UPDATED_AT,
    ),
)

OMBUDSMAN_CASES = TableContract(
    source=SOURCE,
    name="ombudsman_cases",
    description="The council's own records of complaints the Ombudsman considered.",
    key=("ombudsman_reference",),
    columns=(
        Column(
            "ombudsman_reference",
            required=True,
            pattern=r"^\d{2} \d{3} \d{3}$",
            description='The Ombudsman\'s reference, written "22 001 239".',
        ),
        Column("representation_id"),
        Column("received_date", "date", required=True),
        Column("decision_date", "date"),
        Column("decision", codes=OMBUDSMAN_DECISIONS),
        Column("remedy_due_date", "date"),
        Column("remedy_completed_date", "date"),
        _UPDATED_AT,
    ),
    rules=(_closes_after("decision_date", "received_date", "decided before received"),),
)

SERVICE_AREAS = TableContract(
    source=SOURCE,
    name="service_areas",
    description="Service areas and their directorates, with validity dates: councils reorganise.",
    key=("service_area_code", "valid_from"),
    columns=(
        Column("service_area_code", required=True),
        Column("service_area_name", required=True),
        Column("directorate", required=True),
        Column("valid_from", "date", required=True),
        Column("valid_to", "date", description="Empty while current."),
        _UPDATED_AT,
    ),
    rules=(_closes_after("valid_to", "valid_from", "valid_to before valid_from"),),
)

COMPLAINANTS = TableContract(
    source=SOURCE,
    name="complainants",
    description="Complainants' personal data. Loaded only into the restricted schema, keyed by pseudonym.",
    key=("complainant_id",),
    personal=True,
    columns=(
        Column("complainant_id", required=True, pseudonymise=True, keep_original=True),
        Column("given_name"),
        Column("family_name"),
        Column("email"),
        Column("phone"),
        Column("address"),
        Column("postcode"),
        Column("date_of_birth", "date"),
        Column("gender", description="Optional equality monitoring data."),
        Column("ethnicity", description="Optional equality monitoring data."),
        Column("disability", description="Optional equality monitoring data."),
        _UPDATED_AT,
    ),
)

# Parents before children, so a night's load sees a case before its stages.
TABLES = (
    SERVICE_AREAS,
    COMPLAINANTS,
    REPRESENTATIONS,
    COMPLAINT_POINTS,
    STAGES_TABLE,
    REMEDIES,
    PAYMENTS,
    OMBUDSMAN_CASES,
)
