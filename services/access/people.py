"""The org chart as `Person` records, read from the staff table for scope and permission
checks (services.access.scope)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from schemas.tables import StaffMember
from services.access.scope import Person, Scope, scope_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def _person(row: StaffMember) -> Person:
    return Person(
        staff_id=row.staff_id,
        name=row.name,
        email=row.email,
        role=row.role,
        area=row.area,
        unit=row.unit,
        line_manager=row.line_manager,
        left_date=row.left_date,
    )


async def load_people(*, session: AsyncSession) -> dict[str, Person]:
    """Everyone on record: a national org chart is a few thousand rows, read in one query."""
    rows = (await session.execute(select(StaffMember))).scalars()
    return {row.staff_id: _person(row) for row in rows}


async def load_person(*, session: AsyncSession, staff_id: str) -> Person | None:
    row = await session.get(StaffMember, staff_id)
    return None if row is None else _person(row)


async def person_by_email(*, session: AsyncSession, email: str) -> Person | None:
    """Addresses compare without case (docs/contract.md section 12, "Sign-in")."""
    statement = select(StaffMember).where(func.lower(col(StaffMember.email)) == email.lower())
    row = (await session.execute(statement.limit(1))).scalars().first()
    return None if row is None else _person(row)


class OrgChart:
    """Everyone on record, read again only when the staff table changed, with each person's
    scope worked out once per reading. Every request needs the chart (scope, line checks): a
    national one is ~7,000 rows, too many to read per request (BENCHMARKS.md, "Dashboard"),
    while checking whether it changed is one aggregate over the staff table."""

    def __init__(self) -> None:
        self._version: tuple[int, datetime | None, datetime | None] | None = None
        self._people: Mapping[str, Person] = MappingProxyType({})
        self._scopes: dict[str, Scope] = {}

    async def people(self, *, session: AsyncSession) -> Mapping[str, Person]:
        # A changed row has a later stamp, or (a clock injected by a replay or a test that
        # writes two changes at one instant) a later event time; a new row raises the count.
        stamps = func.max(col(StaffMember.updated_at)), func.max(col(StaffMember.event_time))
        statement = select(func.count(), *stamps)
        count, stamped, happened = (await session.execute(statement)).one()
        version = (int(count), stamped, happened)
        if version != self._version:
            self._people = MappingProxyType(await load_people(session=session))
            self._scopes = {}
            self._version = version
        return self._people

    def scope_of(self, person: Person) -> Scope:
        """`person` as read by `people` (a changed chart clears what was worked out)."""
        found = self._scopes.get(person.staff_id)
        if found is None:
            found = self._scopes[person.staff_id] = scope_of(person, self._people)
        return found
