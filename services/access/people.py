"""The org chart as `Person` records, read from the staff table for scope and permission
checks (services.access.scope)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlmodel import col

from schemas.tables import StaffMember
from services.access.scope import Person

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
