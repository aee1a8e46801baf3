"""A small national org chart for the access tests (the role-by-endpoint matrix, the browser
tests, schemathesis): two Areas of two units each, with their legal managers' teams, unit
heads, DCCP, CCP and ABM, one HQ person and one inspector; and for each prosecutor and legal
manager a case whose enhanced victim letter lapsed at 00:00 on Tue 9 Jan 2024.

Ids say where someone sits: `W-MAG-P1` is prosecutor 1 of Wessex's magistrates unit."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.rules.calendar import Calendar
from tests.factories import event

AREAS = {"W": "wessex", "M": "mersey-cheshire"}
UNITS = {"MAG": "magistrates", "CRN": "crown"}
STAFF_TIME = "2024-01-01T09:00:00+00:00"
DECIDED = "2024-01-05"  # a Friday: the enhanced letter is due Mon 8 Jan, lapsed from Tue 9 Jan
LETTER_RULE = "victim-letter"
LETTER_TITLE = "Letter to the victim after a decision (VCL scheme)"
INSPECTION = "AAI-WESSEX"
INSPECTION_TITLE = "Area Assurance Inspection: CPS Wessex"


@dataclass(frozen=True, slots=True)
class Member:
    staff_id: str
    name: str
    role: str
    area: str
    unit: str | None
    line_manager: str | None

    @property
    def email(self) -> str:
        return f"{self.staff_id.lower()}@{self.area}.example"


def members() -> list[Member]:
    found = [
        Member("HQ-1", "Harriet Quayle", "hq", "hq", None, None),
        Member("HMI-1", "Ingrid Marsh", "inspector", "hmcpsi", None, None),
    ]
    for a, area in AREAS.items():
        found += [
            Member(f"{a}-CCP", f"Chief {area}", "ccp", area, None, None),
            Member(f"{a}-DCCP", f"Deputy {area}", "dccp", area, None, f"{a}-CCP"),
            Member(f"{a}-ABM", f"Business {area}", "abm", area, None, f"{a}-CCP"),
        ]
        for u, unit in UNITS.items():
            head, manager = f"{a}-{u}-UH", f"{a}-{u}-LM"
            found += [
                Member(head, f"Head {area} {unit}", "unit-head", area, unit, f"{a}-DCCP"),
                Member(manager, f"Manager {area} {unit}", "legal-manager", area, unit, head),
                Member(f"{a}-{u}-P1", f"One {area} {unit}", "prosecutor", area, unit, manager),
                Member(f"{a}-{u}-P2", f"Two {area} {unit}", "prosecutor", area, unit, manager),
            ]
    return found


@functools.cache
def by_id() -> dict[str, Member]:
    return {m.staff_id: m for m in members()}


def owners() -> list[Member]:
    """Who has casework: every prosecutor and legal manager, one case each."""
    return [m for m in members() if m.role in ("prosecutor", "legal-manager")]


def urn_of(staff_id: str) -> str:
    """A URN that does not spell its owner, so a leak of one can be told from the other."""
    index = [m.staff_id for m in owners()].index(staff_id)
    return f"52XY{index + 1:07d}"


def staff_events() -> list[dict[str, Any]]:
    return [
        event(
            "staff-updated",
            STAFF_TIME,
            staff_id=m.staff_id,
            name=m.name,
            email=m.email,
            role=m.role,
            area=m.area,
            unit=m.unit,
            line_manager=m.line_manager,
        )
        for m in members()
    ]


def casework_events() -> list[dict[str, Any]]:
    """A case per owner and its victim letter, enhanced, decided on Fri 5 Jan 2024."""
    found = []
    for m in owners():
        urn = urn_of(m.staff_id)
        found.append(
            event(
                "case-registered", STAFF_TIME, urn=urn, area=m.area, unit=m.unit, owner=m.staff_id
            )
        )
        found.append(
            event(
                "victim-letter-due",
                "2024-01-08T07:00:00+00:00",
                urn=urn,
                victim_id="V1",
                decision="no-charge",
                decision_date=DECIDED,
                enhanced=True,
            )
        )
    return found


def this_weeks_letters(today: date) -> list[dict[str, Any]]:
    """For the weekly summary's chart: a case of Wessex's crown unit per working day of
    today's week, its enhanced letter due that day (lapsed if before today, else open)."""
    calendar = Calendar()
    monday = today - timedelta(days=today.weekday())
    days = [d for d in (monday + timedelta(days=n) for n in range(5)) if calendar.is_working_day(d)]
    found = []
    for n, due in enumerate(days):
        urn, owner = f"52WK{n + 1:07d}", ("W-CRN-P1", "W-CRN-P2")[n % 2]
        decided = calendar.working_days_before(due, 1)
        found.append(
            event("case-registered", STAFF_TIME, urn=urn, area="wessex", unit="crown", owner=owner)
        )
        found.append(
            event(
                "victim-letter-due",
                f"{decided.isoformat()}T17:00:00+00:00",
                urn=urn,
                victim_id="V1",
                decision="no-charge",
                decision_date=decided.isoformat(),
                enhanced=True,
            )
        )
    return found


def wessex_assurance_events() -> list[dict[str, Any]]:
    """Wessex's Area assurance inspection: one recommendation whose action the DCCP owns and
    one whose action (the crown unit's legal manager's) is past due."""
    hmcpsi, cps = "/hmcpsi", "/cps/wessex/assurance"
    return [
        event("inspection-published", STAFF_TIME, source=hmcpsi, inspection_id=INSPECTION,
              title=INSPECTION_TITLE, kind="area-assurance", area="wessex",
              published_date="2023-10-02"),
        event("recommendation-issued", STAFF_TIME, source=hmcpsi, inspection_id=INSPECTION,
              recommendation_id="AAI-R1", number=1, kind="recommendation",
              text="Improve the timeliness of letters to victims.", due_date="2030-06-30"),
        event("response-committed", STAFF_TIME, source=cps, recommendation_id="AAI-R1",
              action_id="AAI-A1", response="agreed", text="Analyse all VCL data monthly.",
              owner="W-DCCP", due_date="2030-03-31"),
        event("recommendation-issued", STAFF_TIME, source=hmcpsi, inspection_id=INSPECTION,
              recommendation_id="AAI-R2", number=2, kind="issue-to-address",
              text="Improve the handling of unused material.", due_date="2023-12-31"),
        event("response-committed", STAFF_TIME, source=cps, recommendation_id="AAI-R2",
              action_id="AAI-A2", response="partly-agreed",
              text="Disclosure training for prosecutors.", owner="W-CRN-LM",
              due_date="2023-12-31"),
    ]  # fmt: skip


# Inspections: one of each Area and one national (no Area) whose recommendations are of
# Wessex, of Mersey-Cheshire and of no Area. Each recommendation has actions owned by
# prosecutors of different units and Areas, so who may record what differs by line and Area.
INSPECTED = "2023-11-01T09:00:00+00:00"
INSPECTIONS: dict[str, str | None] = {
    "INSP-W": "wessex",
    "INSP-M": "mersey-cheshire",
    "INSP-N": None,
}
# recommendation id: (inspection, the recommendation's own Area or None, {action id: owner})
RECOMMENDATIONS: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "REC-W": ("INSP-W", None, {"ACT-W-MAG": "W-MAG-P1", "ACT-W-CRN": "W-CRN-P1"}),
    "REC-M": ("INSP-M", None, {"ACT-M-MAG": "M-MAG-P1"}),
    "REC-NW": ("INSP-N", "wessex", {"ACT-NW": "W-MAG-P2"}),
    "REC-NM": ("INSP-N", "mersey-cheshire", {"ACT-NM": "M-CRN-P1"}),
    "REC-N0": ("INSP-N", None, {"ACT-N0": "W-CRN-P2"}),
}


def recommendation_area(recommendation_id: str) -> str | None:
    """A recommendation's Area: its own, else its inspection's (None: national)."""
    inspection, area, _ = RECOMMENDATIONS[recommendation_id]
    return area if area is not None else INSPECTIONS[inspection]


def inspection_events() -> list[dict[str, Any]]:
    found = [
        event(
            "inspection-published",
            INSPECTED,
            inspection_id=inspection,
            title=f"Inspection {inspection}",
            kind="thematic" if area is None else "area-assurance",
            area=area,
            published_date="2023-10-01",
        )
        for inspection, area in INSPECTIONS.items()
    ]
    for number, (rec, (inspection, area, actions)) in enumerate(RECOMMENDATIONS.items(), 1):
        found.append(
            event(
                "recommendation-issued",
                INSPECTED,
                inspection_id=inspection,
                recommendation_id=rec,
                number=number,
                kind="recommendation",
                text=f"Recommendation {rec}",
                area=area,
                due_date="2024-06-30",
            )
        )
        found += [
            event(
                "response-committed",
                INSPECTED,
                recommendation_id=rec,
                action_id=action,
                response="agreed",
                text=f"Action {action}",
                owner=owner,
                due_date="2024-03-29",
            )
            for action, owner in actions.items()
        ]
    return found
