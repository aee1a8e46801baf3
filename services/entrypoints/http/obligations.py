"""GET /obligations and GET /obligations/{id}: `followup obligations` and `followup explain` for
the caller's scope, with the filters, pages and references of docs/contract.md section 12,
"People's API". Every filter narrows the caller's scope, never widens it."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response

from events.envelope import IsoDate
from services.access.people import load_people
from services.access.principal import Principal
from services.access.redaction import redact_obligation
from services.access.scope import reports_of
from services.entrypoints.http import paging
from services.entrypoints.http.auth import Caller
from services.entrypoints.http.models import (
    Obligation,
    ObligationExplained,
    ObligationPage,
    ObligationState,
)
from services.platform.runtime import Runtime
from services.tracker.queries import explain_obligation, list_obligations

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

AsOf = Annotated[
    IsoDate | None,
    Query(description="judge states (lapsed) as of this date, YYYY-MM-DD; default today"),
]
Day = Annotated[IsoDate | None, Query(description="YYYY-MM-DD, inclusive")]


def add_obligation_routes(api: FastAPI, *, runtime: Runtime, today: Callable[[], date]) -> None:
    @api.get("/obligations", response_model=list[Obligation] | ObligationPage)
    async def obligations(
        request: Request,
        response: Response,
        caller: Caller,
        state: Annotated[ObligationState | None, Query()] = None,
        rule: Annotated[str | None, Query(description="a rule id of the pack")] = None,
        urn: str | None = None,
        owner: Annotated[str | None, Query(description="the owner's staff id")] = None,
        team: Annotated[
            str | None, Query(description="a manager's staff id: theirs and their reports'")
        ] = None,
        unit: Annotated[str | None, Query(description="owned by the unit's staff")] = None,
        area: str | None = None,
        due_from: Day = None,
        due_to: Day = None,
        as_of: AsOf = None,
        limit: paging.Limit = None,
        cursor: paging.Cursor = None,
    ) -> Any:
        """Obligations in due-date order, within the caller's scope. Without `limit` or
        `cursor`, every match as a bare array (section 10); with either, one page."""
        paging.one_of("rule", rule, [r.id for r in runtime.rules])
        after = None if cursor is None else paging.due_and_ref(cursor)
        paged = limit is not None or cursor is not None
        size = limit or paging.DEFAULT_LIMIT
        day = as_of or today()
        async with runtime.sessions() as session:
            owners = await _owners(session, caller, owner=owner, team=team)
            rows = await list_obligations(
                session=session,
                today=day,
                state=state,
                rule=rule,
                urn=urn,
                scope=caller.scope,
                owners=owners,
                area=area,
                unit=unit,
                due_from=due_from,
                due_to=due_to,
                after=after,
                limit=size + 1 if paged else None,
            )
        if not paged:
            return [_readable(row, caller) for row in rows]
        items = [_readable(row, caller) for row in rows[:size]]
        last = items[-1] if len(rows) > size else None
        next_cursor = None if last is None else paging.encode([last["due"], last["obligation_ref"]])
        paging.link_next(request, response, next_cursor)
        return {"items": items, "next_cursor": next_cursor}

    @api.get("/obligations/{obligation_id:path}", response_model=ObligationExplained)
    async def obligation(caller: Caller, obligation_id: str, as_of: AsOf = None) -> Any:
        """One obligation explained: its computation, warnings and history of changes; 404
        when unknown or outside the caller's scope (the same answer)."""
        async with runtime.sessions() as session:
            found = await explain_obligation(
                session=session,
                obligation_id=obligation_id,
                today=as_of or today(),
                rules=runtime.rules,
                calendar=runtime.calendar,
                scope=caller.scope,
            )
        if found is None:
            raise HTTPException(status_code=404, detail=f"no obligation {obligation_id!r}")
        return _readable(found, caller)

    def _readable(row: dict[str, Any], caller: Principal) -> dict[str, Any]:
        rule = next((r for r in runtime.rules if r.id == row["rule"]), None)  # a dozen
        key_fields = rule.opens.key_fields if rule else ()
        return redact_obligation(row, scope=caller.scope, key_fields=key_fields)


async def _owners(
    session: AsyncSession, caller: Principal, *, owner: str | None, team: str | None
) -> Collection[str] | None:
    """The owners `owner` and `team` allow (both: those in both); None when neither is given.
    A team is the manager and everyone whose line runs up to them, as a legal manager's scope
    is (section 12); an unknown manager's is nobody."""
    if team is None:
        return None if owner is None else {owner}
    # A person's principal carries the org chart; a system's reads it.
    people = caller.directory() or await load_people(session=session)
    manager = people.get(team)
    members = set() if manager is None else {team} | reports_of(manager, people)
    return members if owner is None else members & {owner}
