"""What the trials measure reads: every `trial-outcome-recorded` event accepted (the durable
record `events_received`, by its `type` index; no table of its own) and the Areas of their
cases. Keyword-only (docs/contract.md, section 9, "Added: trials not proceeding")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from services.rules.model import Fact
from services.summaries.queries import C
from services.summaries.trials import EVENT, Trial, standing

CHUNK = 1000  # bounded IN lists


async def trial_outcomes(*, session: AsyncSession) -> list[Fact]:
    """Every accepted trial outcome, as stored (duplicates were never stored twice)."""
    rows = await bulk.run(
        session,
        f"SELECT payload FROM events_received WHERE type = {bulk.mark(session, 1)}",
        (EVENT,),
    )
    return [Fact.from_json(bulk.json_value(payload)) for (payload,) in rows]


async def case_areas(*, session: AsyncSession, urns: set[str]) -> dict[str, str]:
    """The Area of each of these cases that is registered."""
    found: dict[str, str] = {}
    wanted = sorted(urns)
    for start in range(0, len(wanted), CHUNK):
        rows = await session.execute(
            select(C.c.urn, C.c.area).where(C.c.urn.in_(wanted[start : start + CHUNK]))
        )
        found.update((urn, area) for urn, area in rows.all())
    return found


async def standing_trials(*, session: AsyncSession) -> list[Trial]:
    """Each hearing's standing trial outcome, with its Area (the event's, else the case's)."""
    facts = await trial_outcomes(session=session)
    urns = {str(f.data["urn"]) for f in facts if not f.data.get("area")}
    return standing(facts, case_areas=await case_areas(session=session, urns=urns))
