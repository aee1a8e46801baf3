"""Who may record inspection follow-up from the web pages (docs/contract.md section 12,
"Area and inspection pages"). Pure, like scope.py: the route loads the people and the
recommendation's Area and asks.

Inspectors are read only in Followup, so they never record: in the world they assess
follow-up, and their assessment reaches Followup as a `follow-up-assessed` event their
office sends, or as one HQ or the Area's DCCP or CCP records for them.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.access.scope import AREA_ROLES, Person, line_above

ASSESSING_ROLES = frozenset({"dccp", "ccp"})


def may_record_action(
    person: Person, *, owner: str, area: str | None, people: Mapping[str, Person]
) -> bool:
    """Evidence and completion of an action: its owner, anyone above them in the line, the
    leaders (DCCP, CCP, ABM) of the recommendation's Area (of the owner's Area, for a
    national recommendation), and HQ."""
    if person.role == "inspector":
        return False
    if person.role == "hq":
        return True
    home = area if area is not None else _area_of(owner, people)
    if person.role in AREA_ROLES and home is not None and person.area == home:
        return True
    return person.staff_id == owner or person.staff_id in line_above(owner, people)


def may_assess(person: Person, *, area: str | None) -> bool:
    """A follow-up rating: HQ for any recommendation, the DCCP or CCP for their Area's. A
    national recommendation (no Area) is HQ's alone."""
    if person.role == "hq":
        return True
    return person.role in ASSESSING_ROLES and area is not None and person.area == area


def _area_of(staff_id: str, people: Mapping[str, Person]) -> str | None:
    found = people.get(staff_id)
    return None if found is None else found.area
