"""Who an alarm goes to: roles resolved against the org chart from `staff-updated` events.

Pure over a `Directory` loaded in bulk (directory.py). A role nobody holds is never silently
dropped: the owner and the owner's line manager fall back to the Area's unit head, a missing
unit head to the DCCP, a missing DCCP to the CCP, and each such alert says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    staff_id: str
    role: str
    area: str
    unit: str | None
    line_manager: str | None
    email: str
    name: str = ""  # as staff-updated gives it: what a digest calls them


@dataclass(frozen=True, slots=True)
class Recipient:
    staff_id: str
    role: str  # the role asked for
    reason: str | None = None  # set when someone else was found for it, and why


@dataclass(frozen=True, slots=True)
class About:
    """What routing needs to know of an obligation."""

    owner: str | None
    area: str | None
    unit: str | None = None  # the case's unit, when the owner's is not known


class Directory:
    def __init__(self, people: Iterable[Person]) -> None:
        self.people = {p.staff_id: p for p in people}
        self._holders: dict[tuple[str, str], list[Person]] = {}
        for person in sorted(self.people.values(), key=lambda p: p.staff_id):
            self._holders.setdefault((person.area, person.role), []).append(person)

    def holders(self, area: str | None, role: str) -> list[Person]:
        return self._holders.get((area, role), []) if area else []

    def route(self, roles: Sequence[str], about: About) -> list[Recipient]:
        """Each person once, in the order of `roles`; the first role that reached them stands."""
        found: dict[str, Recipient] = {}
        for role in roles:
            for recipient in self._resolve(role, about):
                found.setdefault(recipient.staff_id, recipient)
        return list(found.values())

    def _resolve(self, role: str, about: About) -> list[Recipient]:
        owner = self.people.get(about.owner) if about.owner else None
        area = about.area or (owner.area if owner else None)
        if role == "owner":
            if owner:
                return [Recipient(owner.staff_id, role)]
            why = f"owner {about.owner} not on record" if about.owner else "no owner on record"
            return self._unit_head(area, owner, about, asked=role, why=why)
        if role == "legal-manager":
            manager = self.people.get(owner.line_manager or "") if owner else None
            if manager:
                return [Recipient(manager.staff_id, role)]
            if not owner:
                why = f"owner {about.owner} not on record" if about.owner else "no owner on record"
            else:
                why = f"no line manager on record for owner {owner.staff_id}"
            return self._unit_head(area, owner, about, asked=role, why=why)
        if role == "unit-head":
            return self._unit_head(area, owner, about, asked=role, why=None)
        return self._senior(area, role, asked=role, why=None)

    def _unit_head(
        self, area: str | None, owner: Person | None, about: About, *, asked: str, why: str | None
    ) -> list[Recipient]:
        heads = self.holders(area, "unit-head")
        unit = (owner.unit if owner else None) or about.unit
        mine = [h for h in heads if unit and h.unit == unit] or heads
        if mine:
            said = f"{why}: sent to the Area's unit head" if why else None
            return [Recipient(h.staff_id, asked, said) for h in mine]
        return self._senior(area, "dccp", asked=asked, why=why or "no unit head on record")

    def _senior(
        self, area: str | None, role: str, *, asked: str, why: str | None
    ) -> list[Recipient]:
        chain = {"dccp": "ccp"}
        while True:
            people = self.holders(area, role)
            if people:
                said = f"{why}: sent to the Area's {role}" if why and role != asked else why
                return [Recipient(p.staff_id, asked, said) for p in people]
            if role not in chain:
                return []  # the caller logs that nobody could be found
            why = why or f"no {role} on record in area {area}"
            role = chain[role]
