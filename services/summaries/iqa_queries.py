"""What the IQA measures read (docs/contract.md section 9, "Added: IQA leniency"): the
`iqa-completed` and `iqa-reassessed` facts the tracker already keeps on the tracks of rule
`iqa-reassessment` (key `ASSESSOR/YYYY-MM`, so bounded by month), and the assessors' unit and
Area from the staff table. No table of its own. Keyword-only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import Track
from services.rules.model import Fact
from services.summaries.iqa import IqaMeasures, measures
from services.summaries.queries import S

T: Any = Track.__table__  # type: ignore[attr-defined]
IQA_RULE = "iqa-reassessment"
IQA_TYPES = ("iqa-completed", "iqa-reassessed")
CHUNK = 1000


def months_between(first: date, last: date) -> list[str]:
    """Each YYYY-MM from the month of `first` to that of `last`."""
    found, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


async def iqa_facts(*, session: AsyncSession, first: date, last: date) -> list[Fact]:
    """The IQA facts of the IQAs assessed in the months holding first..last, all Areas."""
    months = months_between(first, last)
    rows = await session.execute(
        select(T.c.facts).where(
            T.c.rule == IQA_RULE, or_(*(T.c.key.like(f"%/{month}") for month in months))
        )
    )
    return [
        Fact.from_json(raw)
        for (stored,) in rows
        for raw in bulk.json_value(stored)
        if raw.get("type") in IQA_TYPES
    ]


async def places_of(
    *, session: AsyncSession, ids: Iterable[str]
) -> Mapping[str, tuple[str | None, str | None]]:
    """Each staff id's (unit, area) from the staff table."""
    wanted = sorted(set(ids))
    found: dict[str, tuple[str | None, str | None]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(S.c.staff_id, S.c.unit, S.c.area).where(
                S.c.staff_id.in_(wanted[start : start + CHUNK])
            )
        )
        found.update({row.staff_id: (row.unit, row.area) for row in rows})
    return found


async def iqa_measures(*, session: AsyncSession, first: date, last: date) -> IqaMeasures:
    """The leniency measures over the IQAs assessed first..last, every Area and national."""
    facts = await iqa_facts(session=session, first=first, last=last)
    assessors = {str(f.data["assessor"]) for f in facts if f.data.get("assessor")}
    places = await places_of(session=session, ids=assessors)
    return measures(facts, places=places, first=first, last=last)
