"""Load the part of the org chart a batch of alarms needs, in three queries."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from schemas.bulk import among
from schemas.tables import Case, StaffMember
from services.alerts.clock.routing import Directory, Person

SENIOR_ROLES = ("unit-head", "dccp", "ccp", "abm")


async def load_directory(
    *, session: AsyncSession, owners: Collection[str], areas: Collection[str]
) -> Directory:
    """The owners, their line managers, and every senior role holder of the areas involved
    (including the owners' own areas)."""
    people: dict[str, Person] = {}
    found = await _staff(session, among(session, col(StaffMember.staff_id), sorted(owners)))
    people.update(found)
    managers = {p.line_manager for p in found.values() if p.line_manager} - set(people)
    if managers:
        people.update(
            await _staff(session, among(session, col(StaffMember.staff_id), sorted(managers)))
        )
    all_areas = set(areas) | {p.area for p in people.values()}
    if all_areas:
        people.update(
            await _staff(
                session,
                col(StaffMember.area).in_(all_areas) & col(StaffMember.role).in_(SENIOR_ROLES),
            )
        )
    return Directory(people.values())


async def _staff(session: AsyncSession, where: object) -> dict[str, Person]:
    rows = (await session.execute(select(StaffMember).where(where))).scalars()  # type: ignore[arg-type]
    return {
        s.staff_id: Person(s.staff_id, s.role, s.area, s.unit, s.line_manager, s.email, s.name)
        for s in rows
    }


async def case_units(*, session: AsyncSession, urns: Collection[str]) -> dict[str, str]:
    if not urns:
        return {}
    statement = select(col(Case.urn), col(Case.unit)).where(
        among(session, col(Case.urn), sorted(urns))
    )
    return {str(urn): str(unit) for urn, unit in (await session.execute(statement)).all()}
