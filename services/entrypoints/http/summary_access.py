"""Which weekly summary a caller may read: the caller's access scope (services.access.scope)
translated into the summaries' own scope, an Area narrowed to a unit or a legal manager's
team (services.summaries.model.Scope), per docs/contract.md section 12, "Area and inspection
pages". Pure; the route then checks the names against what is on record."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException

from services.access.principal import Principal
from services.summaries.model import Scope as SummaryScope

# Inspectors read Area-level figures only: no per-person lists, no case references
# (docs/contract.md section 12: "no casework detail").
# Review timeliness is kept by court type and unit only (summaries.area_level).
INSPECTOR_SECTIONS = frozenset({"review", "timeliness", "breakdown", "recommendations", "audit"})


@dataclass(frozen=True, slots=True)
class Choice:
    """`scope` None: the caller may read any Area and named none (offer the list)."""

    scope: SummaryScope | None
    area_level_only: bool = False


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no summary for {what}")


def summary_choice(
    principal: Principal, *, area: str | None, unit: str | None, team: str | None
) -> Choice:
    """404 for an Area, unit or team outside the caller's scope (as for an unknown one), 403
    for a caller whose role reads no summaries."""
    scope, person = principal.scope, principal.person
    kind = scope.kind
    if kind in ("national", "inspector"):
        if kind == "inspector" and (unit or team):
            raise HTTPException(status_code=403, detail="inspectors read Area-level summaries")
        if area is None:
            return Choice(None, kind == "inspector")
        return Choice(SummaryScope(area, unit, team), kind == "inspector")
    home = scope.home_area
    if person is None or home is None or kind not in ("area", "unit", "team"):
        raise HTTPException(status_code=403, detail="your role reads no weekly summaries")
    if area is not None and area != home:
        raise _not_found(f"Area {area!r}")
    if kind == "area":
        return Choice(SummaryScope(home, unit, team))
    if kind == "unit":
        if person.unit is None or team is not None or unit not in (None, person.unit):
            raise _not_found(f"unit {unit!r}" if unit else f"team {team!r}")
        return Choice(SummaryScope(home, unit=person.unit))
    if unit is not None or team not in (None, person.staff_id):
        raise _not_found(f"unit {unit!r}" if unit else f"team {team!r}")
    return Choice(SummaryScope(home, manager=person.staff_id))


def area_choice(principal: Principal, *, area: str | None) -> str | None:
    """The /area page: DCCP, CCP and ABM their Area (another answers 404), HQ and a system's
    read token any Area (None: not chosen yet), everyone else 403."""
    kind = principal.scope.kind
    if kind == "national":
        return area
    if kind != "area" or principal.scope.home_area is None:
        raise HTTPException(status_code=403, detail="the Area page is for Area leaders and HQ")
    if area is not None and area != principal.scope.home_area:
        raise HTTPException(status_code=404, detail=f"no Area {area!r}")
    return principal.scope.home_area
