"""GET /calendar/{secret}.ics: a person's due dates as an iCalendar feed, for Outlook and the
like (a manager's includes their team's: the feed has its person's scope); POST
/calendar-feeds makes one (its URL shown once) and POST /calendar-feeds/{id}/revoke stops it
(docs/contract.md section 12, "Calendar feeds"). The secret is a `calendar-feed` credential,
kept only as its SHA-256; a leaver's feed stops with their other credentials."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent

from services.access.credentials import issue, list_credentials, revoke
from services.access.principal import authenticate
from services.entrypoints.http.auth import CSRF_FIELD, Staff
from services.entrypoints.http.models import RowId
from services.entrypoints.http.pages.common import csrf_refused, problem
from services.entrypoints.http.state import state_of
from services.entrypoints.http.templating import render
from services.tracker.queries import open_obligations

if TYPE_CHECKING:
    from collections.abc import Sequence

    from schemas.tables import Obligation
    from services.rules.pack import Rule

router = APIRouter(include_in_schema=False)
FEED_LIMIT = 5000


@router.get("/calendar/{secret}.ics")
async def feed(request: Request, secret: str) -> Response:
    runtime = state_of(request).runtime
    async with runtime.sessions() as session:
        principal = await authenticate(
            session=session,
            secret=secret,
            kinds=("calendar-feed",),
            now=runtime.now(),
            today=runtime.today(),
            chart=state_of(request).chart,
        )
        if principal is None:
            return Response("no such calendar feed\n", status_code=404, media_type="text/plain")
        found = await open_obligations(session=session, scope=principal.scope, limit=FEED_LIMIT)
    text = ics(found, rules=runtime.rules, base_url=runtime.settings.base_url(), now=runtime.now())
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def ics(
    found: Sequence[Obligation], *, rules: Sequence[Rule], base_url: str, now: datetime
) -> bytes:
    """One all-day event per open obligation on its due date. Named by its `ob-` reference,
    never its id (which holds a victim's or defendant's id); the UID is the reference, so a
    calendar moves the event when the due date changes rather than adding another."""
    titles = {r.id: r.title for r in rules}
    host = urlsplit(base_url).hostname or "followup"
    calendar = ICalendar()
    calendar.add("prodid", "-//CPS//Followup//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Followup due dates")
    for o in found:
        event = IEvent()
        event.add("uid", f"{o.ref}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", o.due)
        event.add("dtend", o.due + timedelta(days=1))
        event.add("summary", f"{titles.get(o.rule, o.rule)} {o.urn or ''}".strip())
        event.add(
            "description",
            f"Reference {o.ref}. Due {o.due.isoformat()}: {o.explanation}\n{base_url}/o/{o.ref}",
        )
        event.add("url", f"{base_url}/o/{o.ref}")
        event.add("transp", "TRANSPARENT")  # a deadline, not time spent
        calendar.add_component(event)
    text: bytes = calendar.to_ical()
    return text


@router.post("/calendar-feeds", response_class=HTMLResponse)
async def create_feed(
    request: Request, principal: Staff, csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = ""
) -> Response:
    refused = csrf_refused(request, principal, csrf_token)
    if refused is not None:
        return refused
    runtime = state_of(request).runtime
    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        secret, row = await issue(
            session=session,
            kind="calendar-feed",
            scope="staff",
            now=now,
            expires_at=now + timedelta(days=runtime.settings.token_days),
            staff_id=principal.staff_id,
            label="made on the My work page",
        )
    return render(
        request,
        "calendar_feed_created.html",
        principal=principal,
        url=f"{runtime.settings.base_url()}/calendar/{secret}.ics",
        expires_on=_day(row.expires_at),
    )


@router.post("/calendar-feeds/{feed_id}/revoke", response_class=HTMLResponse)
async def revoke_feed(
    request: Request,
    principal: Staff,
    feed_id: RowId,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
) -> Response:
    refused = csrf_refused(request, principal, csrf_token)
    if refused is not None:
        return refused
    runtime = state_of(request).runtime
    async with runtime.sessions() as session, session.begin():
        mine = await list_credentials(
            session=session, kinds=("calendar-feed",), staff_id=principal.staff_id
        )
        if feed_id not in {f.id for f in mine}:  # only a feed of theirs, never another credential
            return problem(request, principal, status_code=404, title="No such calendar feed",
                           message=f"You have no calendar feed {feed_id}.")  # fmt: skip
        await revoke(session=session, credential_id=feed_id, now=runtime.now())
    return RedirectResponse("/#calendar", status_code=303)


def _day(at: datetime | None) -> date | None:
    return at.date() if at is not None else None
