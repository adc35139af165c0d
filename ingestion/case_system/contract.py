"""The canonical extract the warehouse expects from a council's complaints case system.

Codes are the warehouse's own; an adapter maps a product's codes onto them. ``CONTRACT.md`` beside this
file describes every column for the people who write extracts.
"""

from __future__ import annotations

from ingestion.contract import Column, RowRule, TableContract

SOURCE = "case_system"

REPRESENTATION_TYPES = ("complaint", "compliment", "comment", "mp_enquiry")
PROCEDURES = ("childrens_statutory", "adults_statutory", "corporate", "childrens_non_statutory")
CHANNELS = ("web", "email", "phone", "letter", "in_person", "social_media")
RISK_LEVELS = ("low", "moderate", "high")
STATUSES = ("open", "closed")
STAGES = ("0", "1", "2", "3")
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

REPRESENTATIONS = TableContract(
    source=SOURCE,
    name="representations",
    description="One row per representation (complaint, compliment, comment or MP enquiry) in the case system.",
    key=("representation_id",),
    columns=(
        Column("representation_id", required=True, description="The case system's identifier for the case."),
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
        Column("updated_at", "timestamp", required=True),
    ),
    rules=(
        RowRule(
            "closed before received", "{closed_date} < {received_date}", ("closed_date", "received_date")
        ),
    ),
)

STAGES_TABLE = TableContract(
    source=SOURCE,
    name="stages",
    description="One row per representation and complaint stage it reached (0 early resolution, 1, 2, 3).",
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
        Column("investigation_cost", "numeric", min_value=0),
        Column("updated_at", "timestamp", required=True),
    ),
    rules=(
        RowRule(
            "responded before opened", "{responded_date} < {opened_date}", ("responded_date", "opened_date")
        ),
        RowRule("due before opened", "{due_date} < {opened_date}", ("due_date", "opened_date")),
    ),
)

TABLES = (REPRESENTATIONS, STAGES_TABLE)
