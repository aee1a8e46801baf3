"""Sampled obligations: each calendar month, a reproducible share of the items a key tracks
(a legal manager's finalisation checks) is drawn for someone else to check again.

Pure and order-insensitive: the draw is a function of the set of facts, never of arrival
order. Items are ranked by a SHA-256 hash of the rule, the key (manager and month) and the item
(the URN), and the first ceil(percent x n) are drawn, n being the checks recorded (by `time`)
by the end of the month. Nothing is drawn until the month is over; the tracker re-derives the
key on the first refresh after the month ends. A check recorded after the month ended (its
`time` later than the month's last day) is drawn on its own, when its hash falls under the
share, so a late check never takes the place of one already drawn.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from services.rules.calendar import Calendar
from services.rules.model import Fact, ObligationDraft, StoredState
from services.rules.pack import Rule
from services.rules.periods import period_of


def sampled(
    *,
    rule: Rule,
    key: str,
    facts: Sequence[Fact],
    linked: Sequence[Fact],
    calendar: Calendar,
    today: date,
) -> tuple[list[ObligationDraft], date | None]:
    """The obligations of the items drawn for this key, and when time alone changes them."""
    spec = rule.sample
    assert spec is not None
    checks: dict[str, Fact] = {}
    for fact in sorted(facts, key=lambda f: f.order):
        if rule.opens.accepts(fact.type, fact.data) and (
            item := _item(fact.data, spec.item_fields)
        ):
            checks.setdefault(item, fact)  # the same item checked twice: the first stands
    if not checks:
        return [], None
    first = next(iter(checks.values()))
    month = period_of(date.fromisoformat(first.data[spec.month_field]), "monthly")
    if today <= month.end:
        return [], month.end + timedelta(days=1)
    on_time = [i for i, f in checks.items() if calendar.london_date(f.time) <= month.end]
    late = [i for i in checks if i not in on_time]
    count = math.ceil(len(on_time) * spec.percent / 100)
    drawn = sorted(on_time, key=lambda item: _digest(rule.id, key, item))[:count]
    drawn += [i for i in late if _share(_digest(rule.id, key, i)) < spec.percent / 100]
    reviews = _reviews(rule, facts, calendar, spec.item_fields)
    staff = _describing(rule, linked)
    how = (
        f"drawn for {month.label}: {count} of {len(on_time)} checks recorded by the month's "
        f"end ({spec.percent}%, ranked by SHA-256 of rule, key and item)"
        + (f", late checks drawn at {spec.percent}% each" if late else "")
    )
    drafts = [
        _draft(rule, key, checks[item], reviews.get(item), staff, calendar, how)
        for item in sorted(drawn)
    ]
    return drafts, None


def _item(data: Mapping[str, object], fields: Sequence[str]) -> str | None:
    parts = [data.get(name) for name in fields]
    if any(part is None or part == "" for part in parts):
        return None
    return "/".join(str(part) for part in parts)


def _digest(rule: str, key: str, item: str) -> str:
    return hashlib.sha256(f"{rule}\n{key}\n{item}".encode()).hexdigest()


def _share(digest: str) -> float:
    return int(digest[:16], 16) / 2**64


def _reviews(
    rule: Rule, facts: Sequence[Fact], calendar: Calendar, fields: Sequence[str]
) -> dict[str, date]:
    """The earliest date each item was checked again."""
    done: dict[str, date] = {}
    for match in rule.closes:
        for fact in facts:
            if not match.accepts(fact.type, fact.data) or not (item := _item(fact.data, fields)):
                continue
            value = fact.data.get(match.date_field) if match.date_field else None
            on = date.fromisoformat(str(value)) if value else calendar.london_date(fact.time)
            done[item] = min(on, done.get(item, on))
    return done


def _describing(rule: Rule, linked: Sequence[Fact]) -> Fact | None:
    """The latest (by time) linked event the owner is read from: the manager's staff record."""
    if rule.owner_from is None:
        return None
    match = rule.owner_from.match
    found = [f for f in linked if match.accepts(f.type, f.data)]
    return max(found, key=lambda f: f.order, default=None)


def _draft(
    rule: Rule,
    key: str,
    check: Fact,
    reviewed: date | None,
    staff: Fact | None,
    calendar: Calendar,
    how: str,
) -> ObligationDraft:
    due = rule.due.compute(check.data, calendar)
    state: StoredState = "open"
    if reviewed:
        state = "met" if reviewed <= due.result else "met-late"
    owner = staff.data.get(rule.owner_from.field) if staff and rule.owner_from else None
    area = (check.data.get(rule.area_field) if rule.area_field else None) or (
        staff.data.get("area") if staff else None
    )
    explanation = (
        f"{rule.title} [{rule.id}]. Check {check.source}#{check.id} {how}. Due {due.result}: "
        f"{due.explanation}. Source: {rule.source}."
    )
    if reviewed:
        explanation += f" Done on {reviewed}{' (late)' if state == 'met-late' else ''}."
    return ObligationDraft(
        id=f"{rule.id}/{key}/{_item(check.data, rule.sample.item_fields if rule.sample else ())}",
        rule=rule.id,
        key=key,
        urn=str(check.data["urn"]) if check.data.get("urn") else None,
        owner=str(owner) if owner else None,
        area=str(area) if area else None,
        opened_by=check.id,
        due=due.result,
        state=state,
        closed_on=reviewed,
        explanation=explanation,
    )
