"""A realistic, deterministic working week of events for one Area (Thames and Chiltern)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from services.rules.calendar import Calendar

SOURCE = "/cms/thames-and-chiltern"
AREA = "thames-and-chiltern"
WEEK = [date(2017, 7, 24) + timedelta(days=n) for n in range(5)]  # Mon 24 - Fri 28 July 2017
MANAGERS = {"TC-LM1": "magistrates", "TC-LM2": "crown", "TC-LM3": "rasso"}


def demo_week(seed: int = 2017) -> list[dict[str, Any]]:
    rng, cal = random.Random(seed), Calendar()
    events: list[dict[str, Any]] = []
    counter = iter(range(1, 10_000))

    def add(type_: str, day: date, hour: int, **data: Any) -> None:
        events.append(
            {
                "specversion": "1.0",
                "id": f"demo-{next(counter):04d}",
                "source": SOURCE,
                "type": type_,
                "time": f"{day.isoformat()}T{hour:02d}:00:00+01:00",
                "subject": data.get("urn"),
                "data": data,
            }
        )

    add(
        "staff-updated",
        date(2017, 7, 3),
        9,
        staff_id="TC-DCCP1",
        name="Deputy Chief Crown Prosecutor (demo)",
        email="dccp1@example.invalid",
        role="dccp",
        area=AREA,
        line_manager=None,
    )
    staff: dict[str, list[str]] = {}
    for manager, unit in MANAGERS.items():
        add(
            "staff-updated",
            date(2017, 7, 3),
            9,
            staff_id=manager,
            name=f"Legal manager {unit}",
            email=f"{manager.lower()}@example.invalid",
            role="legal-manager",
            area=AREA,
            unit=unit,
            line_manager="TC-DCCP1",
        )
        staff[unit] = [f"{manager}-P{n}" for n in range(1, 4)]
        for person in staff[unit]:
            add(
                "staff-updated",
                date(2017, 7, 3),
                9,
                staff_id=person,
                name=f"Prosecutor {person}",
                email=f"{person.lower()}@example.invalid",
                role="prosecutor",
                area=AREA,
                unit=unit,
                line_manager=manager,
            )

    for n in range(36):
        unit = list(MANAGERS.values())[n % 3]
        urn, owner, day = f"43TC{n + 1:05d}17", rng.choice(staff[unit]), rng.choice(WEEK)
        add(
            "case-registered",
            day - timedelta(days=30),
            10,
            urn=urn,
            area=AREA,
            unit=unit,
            owner=owner,
        )
        hearing = {
            "urn": urn,
            "hearing_id": f"H{n + 1}",
            "court": "Reading",
            "advocate": owner,
            "court_type": "crown" if unit != "magistrates" else "magistrates",
        }
        status = "vacated" if n % 12 == 5 else "held"
        if status == "vacated":  # listed as held in error, then vacated by a later correction
            add("hearing-updated", day, 16, hearing_date=day.isoformat(), status="held", **hearing)
        add("hearing-updated", day, 17, hearing_date=day.isoformat(), status=status, **hearing)
        fate = rng.random()  # about 70% on time, 15% late, 15% never
        if fate < 0.85:
            due = cal.add_working_days(day, 1).result
            done = due if fate < 0.7 else cal.add_working_days(due, rng.randint(1, 4)).result
            add(
                "hearing-record-sheet-uploaded",
                done,
                11,
                urn=urn,
                hearing_id=f"H{n + 1}",
                uploaded_by=owner,
                uploaded_date=done.isoformat(),
            )
        if n % 3 == 0:  # a decision with a letter owed to the victim
            enhanced = n % 6 == 0
            add(
                "victim-letter-due",
                day,
                12,
                urn=urn,
                victim_id=f"V{n + 1}",
                enhanced=enhanced,
                decision=rng.choice(["no-charge", "discontinued", "charge-altered"]),
                decision_date=day.isoformat(),
            )
            letter = rng.random()  # the seed report: letters too often late or missing
            if letter < 0.75:
                due = cal.add_working_days(day, 1 if enhanced else 5).result
                sent = due if letter < 0.55 else cal.add_working_days(due, rng.randint(1, 3)).result
                add(
                    "victim-letter-sent",
                    sent,
                    15,
                    urn=urn,
                    victim_id=f"V{n + 1}",
                    sent_date=sent.isoformat(),
                )
    rng.shuffle(events)  # consumers see events out of order; the outcome must not care
    return events
