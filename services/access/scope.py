"""What a person may see and do, from the org chart of `staff-updated` (docs/contract.md
section 12, "Roles and scope"). Pure: the caller loads the people and applies the answer in
its queries, so no template or route decides who may see a row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

OWN_WORK_ROLES = frozenset({"prosecutor", "paralegal", "advocate"})
AREA_ROLES = frozenset({"dccp", "ccp", "abm"})


@dataclass(frozen=True, slots=True)
class Person:
    staff_id: str
    name: str
    email: str
    role: str
    area: str
    unit: str | None = None
    line_manager: str | None = None
    left_date: date | None = None

    def has_left(self, today: date) -> bool:
        return self.left_date is not None and self.left_date <= today


@dataclass(frozen=True, slots=True)
class Scope:
    """`owners` and `areas` restrict casework when not None; both None is every Area.
    `casework` False (inspectors, systems that only publish) sees no obligation or alert."""

    staff_id: str | None
    kind: str  # own, team, unit, area, national, inspector, none
    casework: bool
    owners: frozenset[str] | None = None
    areas: frozenset[str] | None = None
    home_area: str | None = None

    @property
    def national(self) -> bool:
        return self.casework and self.owners is None and self.areas is None

    def covers(self, *, owner: str | None, area: str | None) -> bool:
        """Whether one obligation or alert (by its owner or recipient, and Area) is in scope."""
        if not self.casework:
            return False
        if self.owners is not None and owner not in self.owners:
            return False
        return self.areas is None or area in self.areas

    def covers_area(self, area: str | None) -> bool:
        """Inspection follow-up and Area summaries: national ones (no Area) for everyone
        signed in; an Area's for its own staff, HQ and inspectors."""
        if self.kind in ("national", "inspector"):
            return True
        if self.kind == "none":
            return False
        return area is None or area == self.home_area or area in (self.areas or ())


NOTHING = Scope(staff_id=None, kind="none", casework=False)
NATIONAL = Scope(staff_id=None, kind="national", casework=True)


def scope_of(person: Person, people: Mapping[str, Person]) -> Scope:
    """The scope of a person's role (docs/contract.md section 12)."""
    own = frozenset({person.staff_id})
    area = frozenset({person.area})
    if person.role in OWN_WORK_ROLES:
        return Scope(person.staff_id, "own", True, owners=own, home_area=person.area)
    if person.role == "legal-manager":
        team = own | reports_of(person, people)
        return Scope(person.staff_id, "team", True, owners=team, home_area=person.area)
    if person.role == "unit-head":
        unit = {
            p.staff_id
            for p in people.values()
            if p.area == person.area and p.unit is not None and p.unit == person.unit
        }
        team = own | reports_of(person, people) | unit
        return Scope(person.staff_id, "unit", True, owners=frozenset(team), home_area=person.area)
    if person.role in AREA_ROLES:
        return Scope(person.staff_id, "area", True, areas=area, home_area=person.area)
    if person.role == "hq":
        return Scope(person.staff_id, "national", True, home_area=person.area)
    if person.role == "inspector":
        return Scope(person.staff_id, "inspector", False, home_area=person.area)
    return Scope(person.staff_id, "none", False, home_area=person.area)


def reports_of(manager: Person, people: Mapping[str, Person]) -> frozenset[str]:
    """Everyone whose line runs up to `manager`, however many steps (a cycle in the data ends
    the walk rather than looping)."""
    below: dict[str, list[str]] = {}
    for p in people.values():
        if p.line_manager:
            below.setdefault(p.line_manager, []).append(p.staff_id)
    found: set[str] = set()
    stack = list(below.get(manager.staff_id, ()))
    while stack:
        staff_id = stack.pop()
        if staff_id in found or staff_id == manager.staff_id:
            continue
        found.add(staff_id)
        stack.extend(below.get(staff_id, ()))
    return frozenset(found)


def line_above(staff_id: str, people: Mapping[str, Person]) -> list[str]:
    """The line managers above someone, nearest first."""
    chain: list[str] = []
    current = people.get(staff_id)
    while current is not None and current.line_manager and current.line_manager not in chain:
        if current.line_manager == staff_id:
            break
        chain.append(current.line_manager)
        current = people.get(current.line_manager)
    return chain


def may_act_for(actor: str, recipient: str, people: Mapping[str, Person]) -> bool:
    """Acknowledge and snooze: the alert's recipient, or someone above them in the line."""
    return actor == recipient or actor in line_above(recipient, people)


def people_by_id(people: Iterable[Person]) -> dict[str, Person]:
    return {p.staff_id: p for p in people}
