"""Rates the simulator draws from, calibrated to the seed reports in ``shared/seeds`` and DOMAIN.md.

Each figure says where it comes from; where the seeds are silent the figure is a plausible assumption and
says so. A county council: ~600-1,100 complaints a year across procedures, a few hundred compliments,
50-120 Ombudsman complaints (DOMAIN.md, "Numbers the seeds show for scale").
"""

from __future__ import annotations

#: Representations received per council per year (complaints + compliments + comments + MP enquiries).
REPRESENTATIONS_PER_YEAR = 1_300

#: Share of each kind. Lancashire 2021/22: 672 statutory complaints closed, 659 compliments (448 + 211);
#: corporate complaints add to the complaints side, so about six in ten representations are complaints.
KIND_SHARES = {"complaint": 0.60, "compliment": 0.31, "comment": 0.06, "mp_enquiry": 0.03}

#: Share of complaints handled under each procedure (Worcestershire runs three procedures; corporate is
#: the largest, children's statutory and adult social care next).
PROCEDURE_SHARES = {
    "corporate": 0.50,
    "adults_statutory": 0.22,
    "childrens_statutory": 0.16,
    "childrens_non_statutory": 0.12,
}

#: Complaints resolved at first contact (Stage 0, early resolution). Assumption: one in five.
STAGE_0_RESOLUTION = 0.20
#: Stage 1 -> Stage 2 escalation. Assumption in line with the seeds' "escalation rate" commentary.
ESCALATION_1_TO_2 = 0.12
#: Children's statutory Stage 2 -> Stage 3 review panel. Assumption: rare.
ESCALATION_2_TO_3 = 0.25
#: Complaints that reach the Ombudsman after the council's last stage: ~50-120 a year per ~800
#: complaints (DOMAIN.md), so about one in ten.
TO_OMBUDSMAN = 0.09

#: Responded within timescale. Surrey 2022/23: 51 % in children's social care, better elsewhere.
WITHIN_TIMESCALE = {
    "childrens_statutory": 0.51,
    "childrens_non_statutory": 0.62,
    "adults_statutory": 0.70,
    "corporate": 0.78,
}
EXTENDED = 0.10  # stages given an extension (assumption)
SUSPENDED = 0.03  # stages suspended, e.g. during court proceedings (assumption)

#: Stage timescales in working days (DOMAIN.md: Complaint Handling Code 2024; children's regulations;
#: one seed's 35-day default for adult social care).
TIMESCALES = {
    ("corporate", "1"): 10,
    ("corporate", "2"): 20,
    ("childrens_non_statutory", "1"): 10,
    ("childrens_non_statutory", "2"): 20,
    ("childrens_statutory", "1"): 10,
    ("childrens_statutory", "2"): 25,
    ("childrens_statutory", "3"): 30,
    ("adults_statutory", "1"): 35,
}
STAGE_0_TIMESCALE = 5
EXTENSION_DAYS = {"1": 10, "2": 20, "3": 10}

#: Stage outcomes. "Most complaints investigated are upheld" (Lancashire 2021/22).
OUTCOME_SHARES = {
    "upheld": 0.30,
    "partially_upheld": 0.25,
    "not_upheld": 0.33,
    "withdrawn": 0.04,
    "no_finding": 0.03,
    "discontinued": 0.02,
    "redirected": 0.02,
    "not_investigated": 0.01,
}

#: Remedies for upheld or partly upheld complaints (assumption: an apology nearly always; money in one
#: case in six; about £450 a month of missed education provision, DOMAIN.md).
APOLOGY = 0.85
FINANCIAL = 0.16
SERVICE_IMPROVEMENT = 0.20
REMEDY_DUE_DAYS = 20  # working days from agreement
LATE_REMEDY = 0.15  # Oxfordshire 2023/24: 5 of 34 Ombudsman remedies completed late

#: Independent Stage 2 investigations cost money (one seed: £9,308.85 in a year).
INDEPENDENT_COST_RANGE = (600.0, 2_400.0)

#: The Ombudsman's decisions on complaints about a council (Oxfordshire 2023/24: 34 of 37 detailed
#: investigations upheld; many complaints closed after initial enquiries or referred back).
OMBUDSMAN_DECISION_SHARES = {
    "upheld": 0.30,
    "not_upheld": 0.05,
    "closed_after_initial_enquiries": 0.35,
    "referred_back_for_local_resolution": 0.20,
    "advice_given": 0.04,
    "incomplete_invalid": 0.06,
}
OMBUDSMAN_DECISION_DAYS = (40, 220)  # calendar days from receipt

#: Daily change to old records once the simulator advances (assumptions).
LATE_CORRECTIONS_PER_COUNCIL_DAY = 0.6
REOPENINGS_PER_COUNCIL_DAY = 0.05
DELETIONS_PER_COUNCIL_DAY = 0.03
