"""Regenerate the bundled sample extract: one council, financial year 2023/24, deterministic.

    python ingestion/case_system/sample/generate_sample.py

The sample is small on purpose (a walking skeleton's input). It carries three rows that break the
contract, so every demo run shows the quarantine at work.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays

HERE = Path(__file__).parent
BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG", years=range(2023, 2026))
SERVICE_AREAS = {
    "ASC-OP": ("Older people's services", "Adults", "adults_statutory"),
    "ASC-LD": ("Learning disabilities", "Adults", "adults_statutory"),
    "CSC-CP": ("Child protection", "Children", "childrens_statutory"),
    "CSC-SEND": ("Special educational needs", "Children", "childrens_non_statutory"),
    "ENV-WST": ("Waste and recycling", "Environment", "corporate"),
    "ENV-HWY": ("Highways", "Environment", "corporate"),
    "COR-REV": ("Council tax and revenues", "Resources", "corporate"),
    "COR-CUS": ("Customer services", "Resources", "corporate"),
}
STAGE_TIMESCALE = {"0": 5, "1": 10, "2": 20, "3": 30}


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in BANK_HOLIDAYS:
            days -= 1
    return current


def main(n: int = 240, seed: int = 2324) -> None:
    rng = random.Random(seed)
    representations, stages = [], []
    for i in range(1, n + 1):
        code = rng.choice(list(SERVICE_AREAS))
        area, directorate, procedure = SERVICE_AREAS[code]
        received = date(2023, 4, 1) + timedelta(days=rng.randrange(365))
        kind = rng.choices(["complaint", "compliment", "comment"], [70, 25, 5])[0]
        rid = f"CFS-{i:05d}"
        closed = received + timedelta(days=rng.randrange(1, 20))
        if kind == "complaint":
            stage_path = ["0"] if rng.random() < 0.2 else ["1"]
            if stage_path == ["1"] and rng.random() < 0.18:
                stage_path.append("2")
                if procedure == "childrens_statutory" and rng.random() < 0.5:
                    stage_path.append("3")
            opened = received
            for stage in stage_path:
                due = add_working_days(opened, STAGE_TIMESCALE[stage])
                late = rng.random() < 0.25
                responded = add_working_days(
                    opened,
                    STAGE_TIMESCALE[stage]
                    + (rng.randrange(1, 15) if late else -rng.randrange(0, STAGE_TIMESCALE[stage])),
                )
                outcome = rng.choice(["upheld", "partially_upheld", "not_upheld", "not_upheld", "withdrawn"])
                if stage == "0":
                    outcome = "early_resolution"
                independent = stage == "2" and procedure == "childrens_statutory"
                stages.append(
                    {
                        "representation_id": rid,
                        "stage": stage,
                        "opened_date": opened,
                        "due_date": due,
                        "extended_due_date": "",
                        "suspended_days": 0,
                        "responded_date": responded,
                        "outcome": outcome,
                        "investigator": "independent" if independent else "internal",
                        "investigation_cost": f"{rng.uniform(800, 2500):.2f}" if independent else "",
                        "updated_at": datetime.combine(responded, datetime.min.time()).isoformat() + "Z",
                    }
                )
                opened = add_working_days(responded, rng.randrange(1, 10))
            closed = responded
        is_open = closed > date(2024, 3, 31)
        representations.append(
            {
                "representation_id": rid,
                "representation_type": kind,
                "procedure": procedure,
                "received_date": received,
                "channel": rng.choice(["web", "email", "phone", "letter"]),
                "service_area_code": code,
                "service_area_name": area,
                "directorate": directorate,
                "risk_level": rng.choice(["low", "moderate", "high"])
                if procedure == "adults_statutory"
                else "",
                "joint_with_nhs": "true"
                if procedure == "adults_statutory" and rng.random() < 0.05
                else "false",
                "status": "open" if is_open else "closed",
                "closed_date": "" if is_open else closed,
                "updated_at": datetime.combine(
                    min(closed, date(2024, 3, 31)), datetime.min.time()
                ).isoformat()
                + "Z",
            }
        )
    # Three rows that break the contract, so the demo shows the quarantine.
    representations[5]["closed_date"] = representations[5]["received_date"] - timedelta(days=3)
    representations[5]["status"] = "closed"
    stages[3]["outcome"] = "partly upheld"
    stages[7]["responded_date"] = stages[7]["opened_date"] - timedelta(days=1)
    for name, rows in (("representations", representations), ("stages", stages)):
        with (HERE / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"{name}.csv: {len(rows)} rows")


if __name__ == "__main__":
    main()
