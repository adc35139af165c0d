"""One case's whole life, decided up front from the seed, and what of it the system shows on a given day.

A case's plan depends only on (seed, council, case number, date received, its service area, and any
reopening): the simulator can rebuild it at any time instead of storing it, and ``materialise`` shows the
rows as they stood on ``as_of``: events after that day have not happened yet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from case_system_simulator import calibration as cal
from case_system_simulator.working_days import WorkingDays

KIND_CODES = {"complaint": "CMP", "compliment": "CPL", "comment": "COM", "mp_enquiry": "MPE"}
PROCEDURE_CODES = {
    "corporate": "COR",
    "adults_statutory": "ASC",
    "childrens_statutory": "CSC",
    "childrens_non_statutory": "NSC",
}
OUTCOME_CODES = {
    "upheld": "UPH",
    "partially_upheld": "PUP",
    "not_upheld": "NUP",
    "no_finding": "NFD",
    "discontinued": "DSC",
    "withdrawn": "WDN",
    "redirected": "RDR",
    "early_resolution": "ERS",
    "not_investigated": "NIN",
}
STAGE_CODES = {"0": "S0", "1": "S1", "2": "S2", "3": "S3", "ombudsman": "LGO"}
DECISION_CODES = {
    "upheld": "UPH",
    "not_upheld": "NUP",
    "advice_given": "ADV",
    "closed_after_initial_enquiries": "CAIE",
    "incomplete_invalid": "INV",
    "referred_back_for_local_resolution": "RBLR",
}
NATURE_CODES = ("COMMS", "DELAY", "QUAL", "STAFF", "POLICY", "FIN", "ASSESS", "SAFE", "ACCESS", "OTHER")
NATURE_WEIGHTS = (30, 18, 16, 9, 8, 6, 6, 2, 3, 2)
CHANNELS = ("WEB", "EML", "TEL", "LET", "F2F", "SOC")
CHANNEL_WEIGHTS = (38, 30, 20, 6, 4, 2)

#: Service areas of a simulated council: code, name, directorate, procedure of its complaints.
UNITS = (
    ("ASC-OP", "Older people's services", "Adults", "adults_statutory"),
    ("ASC-LD", "Learning disabilities", "Adults", "adults_statutory"),
    ("ASC-FIN", "Care charging and finance", "Adults", "adults_statutory"),
    ("CSC-CP", "Child protection", "Children", "childrens_statutory"),
    ("CSC-LAC", "Children in care", "Children", "childrens_statutory"),
    ("CSC-SEND", "Special educational needs", "Children", "childrens_non_statutory"),
    ("CSC-TRN", "Home to school transport", "Children", "childrens_non_statutory"),
    ("ENV-WST", "Waste and recycling", "Environment", "corporate"),
    ("ENV-HWY", "Highways", "Environment", "corporate"),
    ("COR-REV", "Council tax and revenues", "Resources", "corporate"),
    ("COR-CUS", "Customer services", "Resources", "corporate"),
    ("COR-LIB", "Libraries", "Communities", "corporate"),
)
UNIT_PROCEDURE = {code: procedure for code, _, _, procedure in UNITS}


def stamp(day: date, minute: int = 0) -> datetime:
    """A case system records changes at working hours; the minute keeps same-day changes in order."""
    return datetime.combine(day, time(9, 0), tzinfo=UTC) + timedelta(minutes=minute)


@dataclass
class Stage:
    code: str
    opened: date
    due: date | None
    extended_due: date | None
    suspended: int
    responded: date | None
    outcome: str | None
    investigator: str | None
    cost: float | None


@dataclass
class Remedy:
    number: int
    stage: str
    kind: str
    by: str
    agreed: date
    due: date
    completed: date | None
    amount: float | None


@dataclass
class CasePlan:
    case_ref: str
    council: str
    received: date
    kind: str
    procedure: str
    channel: str
    unit: str
    risk: str | None
    nhs_joint: bool
    contact_no: str
    closed: date
    stages: list[Stage] = field(default_factory=list)
    issues: list[tuple[str, str, str | None]] = field(default_factory=list)
    remedies: list[Remedy] = field(default_factory=list)
    lgsco: tuple | None = None

    @property
    def last_event(self) -> date:
        dates = [self.received, self.closed]
        dates += [d for s in self.stages for d in (s.opened, s.responded) if d]
        dates += [d for r in self.remedies for d in (r.agreed, r.completed) if d]
        if self.lgsco:
            dates += [d for d in (self.lgsco[1], self.lgsco[2], self.lgsco[5]) if d]
        return max(dates)


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _stage(rng: random.Random, wd: WorkingDays, procedure: str, code: str, opened: date) -> Stage:
    timescale = cal.STAGE_0_TIMESCALE if code == "0" else cal.TIMESCALES[(procedure, code)]
    due = wd.add(opened, timescale)
    extended = wd.add(due, cal.EXTENSION_DAYS[code]) if code != "0" and rng.random() < cal.EXTENDED else None
    suspended = rng.randint(5, 40) if code != "0" and rng.random() < cal.SUSPENDED else 0
    allowed = timescale + (cal.EXTENSION_DAYS[code] if extended else 0) + suspended
    if rng.random() < cal.WITHIN_TIMESCALE[procedure]:
        taken = rng.randint(max(1, allowed // 3), allowed)
    else:
        taken = allowed + rng.randint(1, max(3, allowed // 2))
    outcome = "early_resolution" if code == "0" else _pick(rng, cal.OUTCOME_SHARES)
    independent = code == "2" and procedure == "childrens_statutory"
    cost = round(rng.uniform(*cal.INDEPENDENT_COST_RANGE), 2) if independent else None
    return Stage(
        code,
        opened,
        due,
        extended,
        suspended,
        wd.add(opened, taken),
        outcome,
        "independent" if independent else "internal",
        cost,
    )


def plan_case(
    seed: int,
    council: str,
    case_no: int,
    received: date,
    unit: str,
    wd: WorkingDays,
    reopened_on: date | None = None,
) -> CasePlan:
    """Decide a case's whole life from its identity alone (same inputs, same case)."""
    rng = random.Random(f"{seed}:{council}:{case_no}")
    procedure = UNIT_PROCEDURE[unit]
    kind = _pick(rng, cal.KIND_SHARES)
    contact = f"{council}-C{rng.randrange(1, max(2, int(case_no * 0.85)))}"
    plan = CasePlan(
        case_ref=f"{council}-{case_no:07d}",
        council=council,
        received=received,
        kind=kind,
        procedure=procedure,
        channel=rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
        unit=unit,
        risk=rng.choice("LMH") if procedure == "adults_statutory" and kind == "complaint" else None,
        nhs_joint=procedure == "adults_statutory" and kind == "complaint" and rng.random() < 0.04,
        contact_no=contact,
        closed=received,
    )
    if kind in ("compliment", "comment"):
        plan.closed = wd.add(received, rng.randint(0, 4))
        return plan
    if kind == "mp_enquiry":
        plan.closed = wd.add(received, rng.randint(3, 20))
        return plan

    codes = ["0"] if rng.random() < cal.STAGE_0_RESOLUTION else ["1"]
    if codes == ["1"] and procedure != "adults_statutory" and rng.random() < cal.ESCALATION_1_TO_2:
        codes.append("2")
        if procedure == "childrens_statutory" and rng.random() < cal.ESCALATION_2_TO_3:
            codes.append("3")
    if reopened_on is not None:
        nxt = {"0": "1", "1": "2", "2": "3"}.get(codes[-1])
        if nxt and (procedure, nxt) in cal.TIMESCALES:
            codes.append(nxt)
    opened = received
    for code in codes:
        if reopened_on is not None and code == codes[-1] and len(codes) > 1:
            opened = max(opened, reopened_on)
        stage = _stage(rng, wd, procedure, code, opened)
        plan.stages.append(stage)
        opened = wd.add(stage.responded, rng.randint(2, 15))
    plan.closed = plan.stages[-1].responded
    final = plan.stages[-1]

    for number in range(1, 2 + (rng.random() < 0.45) + (rng.random() < 0.15)):
        nature = rng.choices(NATURE_CODES, NATURE_WEIGHTS)[0]
        plan.issues.append((f"{plan.case_ref}-P{number}", nature, OUTCOME_CODES.get(final.outcome)))

    remedy_no = 0
    for stage in plan.stages:
        if stage.outcome not in ("upheld", "partially_upheld"):
            continue
        kinds = [
            k
            for k, p in (("APOL", cal.APOLOGY), ("FIN", cal.FINANCIAL), ("SERV", cal.SERVICE_IMPROVEMENT))
            if rng.random() < p
        ]
        for kind_code in kinds:
            remedy_no += 1
            agreed = stage.responded
            due = agreed if kind_code == "APOL" else wd.add(agreed, cal.REMEDY_DUE_DAYS)
            completed = (
                wd.add(due, rng.randint(1, 25))
                if rng.random() < cal.LATE_REMEDY
                else wd.add(agreed, rng.randint(0, max(0, wd.between(agreed, due))))
            )
            amount = (
                round(rng.choice([100, 150, 250, 300, 450, 900, 1350]) * rng.uniform(0.8, 1.5), 2)
                if kind_code == "FIN"
                else None
            )
            plan.remedies.append(
                Remedy(remedy_no, stage.code, kind_code, "COUNCIL", agreed, due, completed, amount)
            )

    if rng.random() < cal.TO_OMBUDSMAN:
        lgsco_received = final.responded + timedelta(days=rng.randint(10, 90))
        decided = lgsco_received + timedelta(days=rng.randint(*cal.OMBUDSMAN_DECISION_DAYS))
        decision = _pick(rng, cal.OMBUDSMAN_DECISION_SHARES)
        remedy_due = remedy_done = None
        if decision == "upheld":
            remedy_due = decided + timedelta(days=30)
            late = rng.random() < cal.LATE_REMEDY
            remedy_done = (
                remedy_due + timedelta(days=rng.randint(1, 40))
                if late
                else decided + timedelta(days=rng.randint(3, 30))
            )
            remedy_no += 1
            amount = round(rng.uniform(150, 2500), 2) if rng.random() < 0.5 else None
            plan.remedies.append(
                Remedy(
                    remedy_no,
                    "ombudsman",
                    "FIN" if amount else "APOL",
                    "LGSCO",
                    decided,
                    remedy_due,
                    remedy_done,
                    amount,
                )
            )
        # The Ombudsman numbers its cases itself: the simulator assigns the reference when it writes the
        # row (``Simulator._assign_ombudsman_references``); the plan only knows the year.
        reference = f"{lgsco_received.year % 100:02d}"
        plan.lgsco = (reference, lgsco_received, decided, DECISION_CODES[decision], remedy_due, remedy_done)
        plan.stages.append(
            Stage(
                "ombudsman",
                lgsco_received,
                None,
                None,
                0,
                decided,
                {"upheld": "upheld", "not_upheld": "not_upheld"}.get(decision, "not_investigated"),
                None,
                None,
            )
        )
    return plan


def materialise(plan: CasePlan, as_of: date, unit_name: str, directorate: str) -> dict[str, list[tuple]]:
    """The rows the system shows for this case on ``as_of`` (empty if not yet received)."""
    rows: dict[str, list[tuple]] = {
        t: [] for t in ("cases", "case_issues", "case_stages", "remedies", "payments", "lgsco_cases")
    }
    if plan.received > as_of:
        return rows
    stages = [s for s in plan.stages if s.opened <= as_of]
    council_stages = [s for s in stages if s.code != "ombudsman"]
    if council_stages:
        # A complaint is closed while its latest stage has been answered; escalation reopens it.
        last = council_stages[-1]
        closed = last.responded if last.responded and last.responded <= as_of else None
    else:
        closed = plan.closed if plan.closed <= as_of else None
    events = [plan.received] + ([closed] if closed else [])
    for s in stages:
        responded = s.responded if s.responded and s.responded <= as_of else None
        extended = s.extended_due if s.extended_due and s.opened <= as_of else None
        modified = max(d for d in (s.opened, responded) if d)
        events.append(modified)
        rows["case_stages"].append(
            (
                plan.case_ref,
                STAGE_CODES[s.code],
                s.opened,
                s.due,
                extended,
                s.suspended or None,
                responded,
                OUTCOME_CODES[s.outcome] if responded and s.outcome else None,
                {"internal": "INT", "independent": "IND"}.get(s.investigator or "")
                if s.code != "ombudsman"
                else None,
                s.cost if responded else None,
                stamp(modified, 2),
            )
        )
    if rows["case_stages"]:
        for issue_no, nature, outcome in plan.issues:
            rows["case_issues"].append(
                (
                    issue_no,
                    plan.case_ref,
                    nature,
                    outcome if closed else None,
                    stamp(closed or plan.received, 1),
                )
            )
    for r in plan.remedies:
        if r.agreed > as_of:
            continue
        completed = r.completed if r.completed and r.completed <= as_of else None
        changed = completed or r.agreed
        events.append(changed)
        rows["remedies"].append(
            (
                f"{plan.case_ref}-R{r.number}",
                plan.case_ref,
                STAGE_CODES[r.stage],
                r.kind,
                r.by,
                r.agreed,
                r.due,
                completed,
                r.amount,
                stamp(changed, 3),
            )
        )
        if r.amount and completed:
            kind = (
                "MP"
                if r.amount >= 450 and plan.procedure.startswith("childrens")
                else ("TT" if r.by == "COUNCIL" else "DIS")
            )
            rows["payments"].append(
                (
                    f"{plan.case_ref}-R{r.number}-PAY",
                    f"{plan.case_ref}-R{r.number}",
                    plan.case_ref,
                    completed,
                    r.amount,
                    kind,
                    stamp(completed, 4),
                )
            )
    if plan.lgsco and plan.lgsco[1] <= as_of:
        ref, received, decided, decision, due, done = plan.lgsco
        decided_now = decided if decided <= as_of else None
        done_now = done if done and done <= as_of else None
        changed = max(d for d in (received, decided_now, done_now) if d)
        events.append(changed)
        rows["lgsco_cases"].append(
            (
                ref,
                plan.case_ref,
                received,
                decided_now,
                decision if decided_now else None,
                due if decided_now else None,
                done_now,
                stamp(changed, 5),
            )
        )
    rows["cases"].append(
        (
            plan.case_ref,
            plan.council,
            KIND_CODES[plan.kind],
            PROCEDURE_CODES[plan.procedure],
            plan.received,
            plan.channel,
            plan.unit,
            unit_name,
            directorate,
            plan.risk,
            plan.nhs_joint,
            "C" if closed else "O",
            closed,
            plan.contact_no,
            stamp(max(events)),
        )
    )
    return rows
