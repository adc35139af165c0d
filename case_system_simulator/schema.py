"""The simulated product's database: its own table names, column names and codes, as a vendor's would be.

``rms`` holds what a council's system would show; ``sim`` holds the simulator's own bookkeeping (the
case index, the day it has reached, corrections, reopenings and deletions it has made), which the
warehouse never reads.
"""

from __future__ import annotations

COLUMNS = {
    "org_units": (
        "council_code",
        "unit_code",
        "unit_name",
        "directorate_name",
        "effective_from",
        "effective_to",
        "modified_at",
    ),
    "contacts": (
        "contact_no",
        "council_code",
        "forename",
        "surname",
        "email",
        "phone",
        "address",
        "postcode",
        "dob",
        "gender",
        "ethnicity",
        "disability",
        "modified_at",
    ),
    "cases": (
        "case_ref",
        "council_code",
        "case_kind",
        "procedure_code",
        "date_received",
        "channel_code",
        "unit_code",
        "unit_name",
        "directorate_name",
        "risk",
        "nhs_joint",
        "case_status",
        "date_closed",
        "contact_no",
        "modified_at",
    ),
    "case_issues": ("issue_no", "case_ref", "issue_category", "issue_outcome", "modified_at"),
    "case_stages": (
        "case_ref",
        "stage_code",
        "date_opened",
        "date_due",
        "date_due_extended",
        "days_suspended",
        "date_responded",
        "outcome_code",
        "investigator_type",
        "investigation_cost",
        "modified_at",
    ),
    "remedies": (
        "remedy_no",
        "case_ref",
        "stage_code",
        "remedy_kind",
        "recommended_by",
        "date_agreed",
        "date_due",
        "date_completed",
        "amount",
        "modified_at",
    ),
    "payments": ("payment_no", "remedy_no", "case_ref", "date_paid", "amount", "payment_kind", "modified_at"),
    "lgsco_cases": (
        "lgsco_ref",
        "case_ref",
        "date_received",
        "date_decided",
        "decision_code",
        "remedy_due",
        "remedy_completed",
        "modified_at",
    ),
}

#: Tables holding a case's rows (deleted and rewritten together when the case changes).
CASE_TABLES = ("cases", "case_issues", "case_stages", "remedies", "payments", "lgsco_cases")

DDL = """
create schema if not exists rms;
create schema if not exists sim;

create table if not exists rms.org_units (
    council_code text not null, unit_code text not null, unit_name text not null,
    directorate_name text not null, effective_from date not null, effective_to date,
    modified_at timestamptz not null, primary key (council_code, unit_code, effective_from));
create table if not exists rms.contacts (
    contact_no text primary key, council_code text not null, forename text, surname text, email text,
    phone text, address text, postcode text, dob date, gender text, ethnicity text, disability text,
    modified_at timestamptz not null);
create table if not exists rms.cases (
    case_ref text primary key, council_code text not null, case_kind text not null, procedure_code text not null,
    date_received date not null, channel_code text, unit_code text not null, unit_name text,
    directorate_name text not null, risk text, nhs_joint boolean, case_status text not null, date_closed date,
    contact_no text, modified_at timestamptz not null);
create table if not exists rms.case_issues (
    issue_no text primary key, case_ref text not null, issue_category text not null, issue_outcome text,
    modified_at timestamptz not null);
create table if not exists rms.case_stages (
    case_ref text not null, stage_code text not null, date_opened date not null, date_due date,
    date_due_extended date, days_suspended int, date_responded date, outcome_code text,
    investigator_type text, investigation_cost numeric(10, 2), modified_at timestamptz not null,
    primary key (case_ref, stage_code));
create table if not exists rms.remedies (
    remedy_no text primary key, case_ref text not null, stage_code text, remedy_kind text not null,
    recommended_by text not null, date_agreed date not null, date_due date, date_completed date,
    amount numeric(10, 2), modified_at timestamptz not null);
create table if not exists rms.payments (
    payment_no text primary key, remedy_no text, case_ref text not null, date_paid date not null,
    amount numeric(10, 2) not null, payment_kind text not null, modified_at timestamptz not null);
create table if not exists rms.lgsco_cases (
    lgsco_ref text primary key, case_ref text, date_received date not null, date_decided date,
    decision_code text, remedy_due date, remedy_completed date, modified_at timestamptz not null);

create table if not exists sim.state (key text primary key, value text not null);
create table if not exists sim.cases (
    case_ref text primary key, council_code text not null, case_no int not null, date_received date not null,
    last_event date not null, reopened_on date, deleted_on date);
create index if not exists sim_cases_active on sim.cases (last_event);
create table if not exists sim.lgsco_refs (case_ref text primary key, lgsco_ref text not null unique);
create table if not exists sim.corrections (
    case_ref text not null, table_name text not null, field text not null, value text not null,
    made_on date not null);
"""

INDEXES = """
create index if not exists cases_modified on rms.cases (modified_at);
create index if not exists case_stages_modified on rms.case_stages (modified_at);
create index if not exists case_issues_case on rms.case_issues (case_ref);
create index if not exists remedies_case on rms.remedies (case_ref);
create index if not exists payments_case on rms.payments (case_ref);
create index if not exists lgsco_case on rms.lgsco_cases (case_ref);
"""
