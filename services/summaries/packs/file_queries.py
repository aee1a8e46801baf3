"""What the packs read for police file quality (docs/contract.md section 9, "Added: police
file quality and disclosure"): the `file-quality-assessed` events as the tracker stored them
(`events_received`, one row per event, never purged) and the forces of failed files from their
feedback tracks. Keyword-only; no new table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import ReceivedEvent, Track
from services.rules.calendar import LONDON
from services.summaries.file_quality import Assessment
from services.summaries.packs.model import FILE_FEEDBACK
from services.summaries.queries import C

R: Any = ReceivedEvent.__table__  # type: ignore[attr-defined]
T: Any = Track.__table__  # type: ignore[attr-defined]
CHUNK = 1000  # bounded IN lists
ASSESSED = "file-quality-assessed"
# Assessments recorded this long before the period starts are not read (a file's assessment
# is recorded on or after its date; a correction of an earlier one is recorded later).
LOOKBACK = timedelta(days=31)


async def file_assessments(*, session: AsyncSession, area: str, first: date) -> list[Assessment]:
    """The Area's `file-quality-assessed` events recorded since `first` - LOOKBACK (every
    assessment of a file, for the measures to take the latest): an assessment is the Area's by
    its own `area`, else its case's."""
    since = datetime.combine(first - LOOKBACK, time(), LONDON)
    rows = await session.execute(select(R.c.payload).where(R.c.type == ASSESSED, R.c.time >= since))
    facts = [bulk.json_value(payload) for (payload,) in rows]
    areas = await _case_areas(
        session=session, urns={f["data"]["urn"] for f in facts if not f["data"].get("area")}
    )
    found = [
        Assessment.of(
            source=f["source"],
            id=f["id"],
            time=datetime.fromisoformat(f["time"]),
            data=f["data"],
            area=areas.get(f["data"]["urn"]),
        )
        for f in facts
    ]
    return [a for a in found if a.area == area]


async def _case_areas(*, session: AsyncSession, urns: Iterable[str]) -> dict[str, str]:
    wanted = sorted(urns)
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(C.c.urn, C.c.area).where(C.c.urn.in_(wanted[start : start + CHUNK]))
        )
        found.update({row.urn: row.area for row in rows})
    return found


async def feedback_forces(*, session: AsyncSession, file_ids: Iterable[str]) -> dict[str, str]:
    """The force of each failed file (file id to force), from the latest (by `time`)
    assessment in its `file-quality-feedback` track."""
    wanted = sorted(set(file_ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(T.c.key, T.c.facts).where(
                T.c.rule == FILE_FEEDBACK, T.c.key.in_(wanted[start : start + CHUNK])
            )
        )
        for key, stored in rows:
            assessed = [f for f in bulk.json_value(stored) if f.get("type") == ASSESSED]
            if assessed:
                latest = max(assessed, key=_order)
                found[key] = str(latest["data"]["force"])
    return found


def _order(fact: dict[str, Any]) -> tuple[datetime, str, str]:
    return (datetime.fromisoformat(fact["time"]), fact["source"], fact["id"])
