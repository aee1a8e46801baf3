"""GET and POST /act/{token}: the links of an alert digest (services/access/links.py). The GET
shows what the link will do, to which obligation, as whom; only the POST does it, so a mail
scanner that follows links changes nothing. The token alone authorises, as it names its
recipient; their leaving, or the act no longer being possible, refuses it (docs/contract.md
section 12, "Acting from an email")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.access.links import ActionLink, read_action_token
from services.access.people import load_person
from services.access.scope import Person
from services.alerts.actions import AlertActionRefused, acknowledge, snooze
from services.alerts.clock.schedule import snooze_end
from services.alerts.queries import find_alert
from services.entrypoints.http.pages.common import problem
from services.entrypoints.http.state import state_of
from services.entrypoints.http.templating import render
from services.platform.signing import SignedValueRefused

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from schemas.tables import Alert

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Checked:
    link: ActionLink
    alert: Alert
    person: Person
    until: datetime | None  # a snooze's end


class Refused(Exception):
    """The link cannot be used; the message says why, for the person who followed it."""


@router.get("/act/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: str) -> Response:
    runtime = state_of(request).runtime
    async with runtime.sessions() as session:
        try:
            checked = await _check(request, session, token)
        except Refused as why:
            return _refused(request, str(why))
    if checked.link.act == "open":
        return RedirectResponse(f"/o/{checked.link.obligation_ref}", status_code=303)
    return render(request, "act_confirm.html", **_shown(request, checked), token=token)


@router.post("/act/{token}", response_class=HTMLResponse)
async def act(request: Request, token: str) -> Response:
    runtime = state_of(request).runtime
    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        try:
            checked = await _check(request, session, token)
            by, alert_id = checked.person.staff_id, checked.link.alert_id
            if checked.link.act == "open":
                return RedirectResponse(f"/o/{checked.link.obligation_ref}", status_code=303)
            if checked.link.act == "acknowledge":
                await acknowledge(session=session, alert_id=alert_id, by=by, now=now)
            elif checked.until is not None:
                await snooze(
                    session=session,
                    alert_id=alert_id,
                    by=by,
                    reason="snoozed from the email",
                    until=checked.until,
                    now=now,
                )
        except (Refused, AlertActionRefused) as why:
            return _refused(request, str(why))
    return render(request, "act_done.html", **_shown(request, checked))


async def _check(request: Request, session: AsyncSession, token: str) -> Checked:
    state = state_of(request)
    runtime, today = state.runtime, state.today()
    try:
        link = read_action_token(runtime.settings, token=token, now=runtime.now())
    except SignedValueRefused as why:
        raise Refused(f"This link cannot be used: {why}.") from None
    alert = await find_alert(session=session, alert_id=link.alert_id)
    if (
        alert is None
        or alert.recipient != link.recipient
        or alert.obligation_ref != link.obligation_ref
    ):
        raise Refused("This link cannot be used: it is not for this alert.")
    person = await load_person(session=session, staff_id=link.recipient)
    if person is None or person.has_left(today):
        raise Refused("This link cannot be used: the person it was sent to has left.")
    if alert.state == "withdrawn" and link.act != "open":
        raise Refused("Nothing to do: the obligation was met or changed since this was sent.")
    if alert.acknowledged_at is not None and link.act != "open":
        raise Refused(f"Nothing to do: {alert.acknowledged_by} acknowledged this already.")
    until = snooze_end(today, link.days, runtime.calendar) if link.act == "snooze" else None
    return Checked(link, alert, person, until)


def _shown(request: Request, checked: Checked) -> dict[str, Any]:
    rules = {r.id: r.title for r in state_of(request).runtime.rules}
    return {
        "what": checked.link.describe(),
        "until": checked.until,
        "alert": checked.alert,
        "title": rules.get(checked.alert.rule, checked.alert.rule),
        "person": checked.person,
    }


def _refused(request: Request, why: str) -> HTMLResponse:
    return problem(request, None, status_code=400, title="This link cannot be used", message=why)
