"""The rows of *My work*, *My team*, their CSV and the obligation page: each open obligation
with what it is about, how late it is, how its date was worked out, its alerts and the next
escalation. Read through the scoped queries; this module only arranges what they return.

A victim's or defendant's id is shown only on the obligation's owner's own rows (they run the
case and write to that person); managers, the CSV and calendar feeds name an obligation by its
URN and `ob-` reference (docs/contract.md section 12, "Pages").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from services.access.principal import Principal
from services.access.scope import may_act_for
from services.alerts.clock.routing import About, Directory
from services.alerts.clock.routing import Person as RoutedPerson
from services.alerts.clock.schedule import Upcoming, next_escalation
from services.alerts.clock.store import holds
from services.alerts.queries import alerts_about, state_of
from services.entrypoints.http.labels import level_label, role_label
from services.rules.calendar import LONDON
from services.rules.model import effective_state
from services.tracker.queries import open_obligations, track_details

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from schemas.tables import Alert, Obligation
    from services.platform.runtime import Runtime

HORIZON_WORKING_DAYS = 10
PEOPLE_IDS = (("victim_id", "Victim"), ("defendant_id", "Defendant"))
ROW_STATES = ("lapsed", "due")  # the *My team* filter: lapsed, or due within the horizon


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    recipient: str
    recipient_name: str
    level: str
    state: str
    may_act: bool  # the viewer is its recipient or above them in the line
    snoozed_until: datetime | None


@dataclass(frozen=True, slots=True)
class Row:
    ref: str
    rule: str
    title: str
    urn: str | None
    about: str  # the hearing and court, or the victim or defendant (owner only), or ""
    owner: str | None
    owner_name: str
    area: str | None
    due: date
    state: str  # lapsed or open
    working_days_overdue: int
    explanation: str
    next_step: str  # the next escalation: when and to whom, or why none
    alerts: tuple[AlertView, ...] = field(default=())

    def csv(self) -> dict[str, Any]:
        """The CSV export's columns: no victim or defendant id, whoever exports it."""
        return {
            "reference": self.ref,
            "rule": self.rule,
            "title": self.title,
            "urn": self.urn or "",
            "owner": self.owner or "",
            "owner_name": self.owner_name,
            "due": self.due.isoformat(),
            "state": self.state,
            "working_days_overdue": self.working_days_overdue,
            "explanation": self.explanation,
            "next_escalation": self.next_step,
            "alerts": "; ".join(f"{a.level} {a.recipient} {a.state}" for a in self.alerts),
        }


def horizon(runtime: Runtime, today: date) -> date:
    """The last due date *My work* shows: 10 working days from today."""
    return runtime.calendar.add_working_days(today, HORIZON_WORKING_DAYS).result


async def work_rows(
    *,
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    today: date,
    now: datetime,
    owners: Collection[str] | None = None,
    rule: str | None = None,
    state: str | None = None,
    limit: int = 500,
) -> list[Row]:
    """Open obligations in the principal's scope, lapsed or due within the horizon."""
    # Filtered in the query, so `limit` counts only the rows asked for.
    found = await open_obligations(
        session=session,
        scope=principal.scope,
        due_by=today - timedelta(days=1) if state == "lapsed" else horizon(runtime, today),
        due_from=today if state == "due" else None,
        rule=rule,
        owners=owners,
        limit=limit,
    )
    return await rows_of(session=session, runtime=runtime, principal=principal, found=found,
                         today=today, now=now)  # fmt: skip


async def rows_of(
    *,
    session: AsyncSession,
    runtime: Runtime,
    principal: Principal,
    found: Sequence[Obligation],
    today: date,
    now: datetime,
) -> list[Row]:
    ids = [o.id for o in found]
    details = await track_details(session=session, tracks={(o.rule, o.key) for o in found})
    alerts = await alerts_about(session=session, obligation_ids=ids, scope=principal.scope)
    held = await holds(session=session, ids=ids, now=now)
    by_obligation: dict[tuple[str, date], list[Alert]] = {}
    for alert in alerts:
        by_obligation.setdefault((alert.obligation_id, alert.due), []).append(alert)
    people = principal.directory()
    routing = Directory(
        RoutedPerson(p.staff_id, p.role, p.area, p.unit, p.line_manager, p.email)
        for p in people.values()
    )
    rules = {r.id: r for r in runtime.rules}
    rows = []
    for o in found:
        rule = rules.get(o.rule)
        upcoming = None
        if rule is not None:
            upcoming = next_escalation(
                rule,
                o.due,
                runtime.calendar,
                now,
                repeat_every=runtime.settings.alert_repeat_days,
                stopped=(o.id, o.due) in held.acknowledged,
                held_until=held.snoozed.get((o.id, o.due)),
            )
        mine = by_obligation.get((o.id, o.due), [])
        rows.append(
            Row(
                ref=o.ref,
                rule=o.rule,
                title=rule.title if rule else o.rule,
                urn=o.urn,
                about=_about(details.get((o.rule, o.key), {}), show_ids=_owns(principal, o)),
                owner=o.owner,
                owner_name=_name(people, o.owner),
                area=o.area,
                due=o.due,
                state=effective_state(o.state, o.due, today),
                working_days_overdue=runtime.calendar.working_days_between(o.due, today),
                explanation=o.explanation,
                next_step=_next_step(
                    upcoming, routing, people, o, (o.id, o.due) in held.acknowledged
                ),
                alerts=tuple(_alert_view(a, principal, people, now) for a in mine),
            )
        )
    return rows


def _owns(principal: Principal, obligation: Obligation) -> bool:
    return obligation.owner is not None and obligation.owner == principal.staff_id


def _about(details: dict[str, Any], *, show_ids: bool) -> str:
    if details.get("court"):
        parts = ["Hearing", details.get("hearing_id"), "at", details["court"]]
        if details.get("court_type"):
            parts.append(f"({details['court_type']})")
        if details.get("hearing_date"):
            parts += ["on", details["hearing_date"]]
        return " ".join(str(p) for p in parts if p)
    for field_name, label in PEOPLE_IDS:
        if details.get(field_name):
            return f"{label} {details[field_name]}" if show_ids else f"{label} (reference held)"
    return ""


def _name(people: Mapping[str, Any], staff_id: str | None) -> str:
    if staff_id is None:
        return "nobody on record"
    person = people.get(staff_id)
    return person.name if person is not None else staff_id


def _next_step(
    upcoming: Upcoming | None,
    routing: Directory,
    people: Mapping[str, Any],
    obligation: Obligation,
    stopped: bool,
) -> str:
    if stopped:
        return "none: the lapse was acknowledged, so escalation has stopped"
    if upcoming is None:
        return "none"
    told = routing.route(upcoming.step.roles, About(obligation.owner, obligation.area))
    whom = ", ".join(f"{_name(people, r.staff_id)} ({_routed_as(r.role)})" for r in told)
    at = upcoming.at.astimezone(LONDON)
    on = f"{at:%a} {at.day} {at:%b %Y}"
    return f"{level_label(upcoming.step.level)} on {on} to {whom or 'nobody on record'}"


def _routed_as(role: str) -> str:
    """Why the alarm goes to someone: the owner's line manager hears a lapse as its
    `legal-manager`, whatever their own role (services/alerts/clock/routing.py)."""
    return "line manager" if role == "legal-manager" else role_label(role)


def _alert_view(
    alert: Alert, principal: Principal, people: Mapping[str, Any], now: datetime
) -> AlertView:
    assert alert.id is not None  # stored rows have ids
    acting = principal.staff_id is not None and may_act_for(
        principal.staff_id, alert.recipient, people
    )
    return AlertView(
        id=alert.id,
        recipient=alert.recipient,
        recipient_name=_name(people, alert.recipient),
        level=alert.level,
        state=state_of(alert, now),
        may_act=acting,
        snoozed_until=alert.snoozed_until,
    )
