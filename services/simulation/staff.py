"""An Area's people and line management, sized to its caseload, as `staff-updated` data.

The shape is domain.md's "People and routing": a Chief Crown Prosecutor (CCP) with two Deputy
CCPs and an Area Business Manager (ABM); a unit head per unit (magistrates' court, Crown Court,
RASSO) under a DCCP; legal managers under the unit head, each line-managing prosecutors,
paralegals and advocates. CPS Direct has one unit, charging. Every name is fictional.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from services.simulation.areas import Area

# New cases a week one prosecutor carries, by unit [A]: about 167 cases a year per prosecutor
# nationally (500,000 cases, about 3,000 prosecutors), fewer in the Crown Court and RASSO.
CASES_PER_PROSECUTOR = {"magistrates": 5.0, "crown": 2.0, "rasso": 1.0, "charging": 8.0}
PROSECUTORS_PER_MANAGER = 8
PROSECUTORS_PER_PARALEGAL = 3
PROSECUTORS_PER_ADVOCATE = {"magistrates": 6, "crown": 4}

_FIRST = (
    "Ada", "Basil", "Cora", "Dev", "Edie", "Felix", "Gwen", "Hari", "Iris", "Jonah", "Kit",
    "Lena", "Milo", "Nia", "Omar", "Priya", "Quentin", "Rhea", "Sami", "Tess", "Umar", "Vera",
    "Wyn", "Xena", "Yusuf", "Zara", "Amara", "Bryn", "Callum", "Delia",
)  # fmt: skip
_LAST = (
    "Okafor", "Pennock", "Rowntree", "Sayer", "Thackeray", "Underhill", "Varga", "Whitlock",
    "Yardley", "Ashby", "Brennan", "Cadogan", "Dunmore", "Ellery", "Fairweather", "Greaves",
    "Hollins", "Iqbal", "Jessop", "Kingdom", "Lomax", "Mistry", "Nolan", "Orme", "Pargeter",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Person:
    staff_id: str
    name: str
    role: str
    unit: str | None
    line_manager: str | None


@dataclass(slots=True)
class Staff:
    """One Area's people, and who is whose line manager."""

    area: Area
    people: list[Person] = field(default_factory=list)
    by_id: dict[str, Person] = field(default_factory=dict)
    _by_role: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)

    def add(self, person: Person) -> None:
        self.people.append(person)
        self.by_id[person.staff_id] = person
        self._by_role.setdefault((person.role, person.unit), []).append(person.staff_id)
        self._by_role.setdefault((person.role, None), []).append(person.staff_id)

    def having(self, role: str, unit: str | None = None) -> list[str]:
        """Staff ids with this role (in this unit), in the order they were added."""
        return self._by_role.get((role, unit), [])

    def move(self, staff_id: str, line_manager: str) -> Person:
        """The person with a new line manager (a `staff-updated` replacing the earlier one)."""
        old = self.by_id[staff_id]
        moved = Person(old.staff_id, old.name, old.role, old.unit, line_manager)
        self.people[self.people.index(old)] = moved
        self.by_id[staff_id] = moved
        return moved

    def manager_of(self, staff_id: str) -> str | None:
        return self.by_id[staff_id].line_manager

    def first(self, role: str) -> str:
        return self.having(role)[0]

    def data(self, person: Person) -> dict[str, object]:
        """The `staff-updated` data for this person (docs/contract.md section 2)."""
        return {
            "staff_id": person.staff_id,
            "name": person.name,
            "email": f"{person.staff_id.lower()}@{self.area.slug}.cps.example",
            "role": person.role,
            "area": self.area.slug,
            "unit": person.unit,
            "line_manager": person.line_manager,
        }


def units_of(area: Area) -> tuple[str, ...]:
    return ("charging",) if area.direct else ("magistrates", "crown", "rasso")


def build_staff(area: Area, cases_by_unit: dict[str, float], rng: random.Random) -> Staff:
    """The Area's org chart, with enough prosecutors for `cases_by_unit` new cases a week."""
    staff, tag = Staff(area), area.letters
    names = _names(rng)
    ccp = _person(staff, names, f"{tag}-CCP1", "ccp", None, None)
    dccps = [_person(staff, names, f"{tag}-DCCP{n}", "dccp", None, ccp) for n in (1, 2)]
    _person(staff, names, f"{tag}-ABM1", "abm", None, ccp)
    for u, unit in enumerate(units_of(area)):
        code = unit[:3].upper()
        head = _person(staff, names, f"{tag}-{code}-UH1", "unit-head", unit, dccps[u % 2])
        lawyers = max(2, math.ceil(cases_by_unit.get(unit, 0.0) / CASES_PER_PROSECUTOR[unit]))
        managers = max(1, math.ceil(lawyers / PROSECUTORS_PER_MANAGER))
        team = [
            _person(staff, names, f"{tag}-{code}-LM{m}", "legal-manager", unit, head)
            for m in range(1, managers + 1)
        ]
        for n in range(1, lawyers + 1):
            _person(staff, names, f"{tag}-{code}-P{n}", "prosecutor", unit, team[n % managers])
        for n in range(1, max(1, lawyers // PROSECUTORS_PER_PARALEGAL) + 1):
            _person(staff, names, f"{tag}-{code}-PL{n}", "paralegal", unit, team[n % managers])
        per_advocate = PROSECUTORS_PER_ADVOCATE.get(unit)
        if per_advocate:
            for n in range(1, max(1, lawyers // per_advocate) + 1):
                _person(staff, names, f"{tag}-{code}-A{n}", "advocate", unit, team[n % managers])
    return staff


def _person(
    staff: Staff, names: list[str], staff_id: str, role: str, unit: str | None, boss: str | None
) -> str:
    staff.add(Person(staff_id, names[len(staff.people) % len(names)], role, unit, boss))
    return staff_id


def _names(rng: random.Random) -> list[str]:
    names = [f"{first} {last}" for first in _FIRST for last in _LAST]
    rng.shuffle(names)
    return names
