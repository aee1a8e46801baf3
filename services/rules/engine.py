"""The pure rules engine: facts in, obligations out. No I/O and no clock.

Each tracked thing (a hearing, a victim's letter) keeps the set of facts routed to it, and its
obligations are derived from the whole set every time. Arrival order and duplicates therefore
cannot change the outcome; only the facts' own `time` values decide which of two stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from services.rules.calendar import Calendar
from services.rules.model import CaseInfo, Change, ChangeKind, Fact, ObligationDraft, StoredState
from services.rules.pack import Match, Rule


@dataclass(frozen=True, slots=True)
class TrackRef:
    rule: str
    key: str
    urn: str | None


def route(rules: Iterable[Rule], fact: Fact) -> list[TrackRef]:
    """Which tracked things this fact is about, one per rule that cares."""
    refs: list[TrackRef] = []
    for rule in rules:
        for match in rule.matches():
            if match.accepts(fact.type, fact.data) and (key := match.key_of(fact.data)):
                refs.append(TrackRef(rule.id, key, _text(fact.data.get("urn"))))
                break
    return refs


def merge_facts(existing: Iterable[Fact], new: Iterable[Fact]) -> tuple[Fact, ...]:
    """Union by (source, id), in time order: a duplicate event adds nothing."""
    by_key = {(f.source, f.id): f for f in existing}
    for fact in new:
        by_key.setdefault((fact.source, fact.id), fact)
    return tuple(sorted(by_key.values(), key=lambda f: f.order))


def derive(
    rule: Rule, key: str, facts: Sequence[Fact], case: CaseInfo | None, calendar: Calendar
) -> list[ObligationDraft]:
    openers = [f for f in facts if rule.opens.accepts(f.type, f.data)]
    if not openers:
        return []
    first = min(openers, key=lambda f: f.order)
    standing = max(openers, key=lambda f: f.order)
    days = rule.due.days_for(standing.data)
    after = date.fromisoformat(standing.data[rule.due.after])
    due = calendar.add_working_days(after, days)
    closed_on = _earliest_close(rule.closes, facts, calendar)
    cancel = _cancelling(rule.cancels, facts, standing)
    cancelled_on = calendar.london_date(cancel.time) if cancel else None

    state: StoredState
    if cancelled_on and not (closed_on and closed_on <= cancelled_on):
        state, closed_on = "cancelled", cancelled_on
    elif closed_on:
        state = "met" if closed_on <= due.result else "met-late"
    else:
        state = "open"

    explanation = (
        f"{rule.title} [{rule.id}]. Due {due.explanation} ({rule.due.after} of event "
        f"{standing.source}#{standing.id}). Source: {rule.source}."
    )
    if state == "cancelled" and cancel:
        explanation += f" Cancelled by event {cancel.source}#{cancel.id} on {cancelled_on}."
    return [
        ObligationDraft(
            id=f"{rule.id}/{key}",
            rule=rule.id,
            key=key,
            urn=_text(standing.data.get("urn")),
            owner=_field_or(standing.data, rule.owner_field, case.owner if case else None),
            area=_field_or(standing.data, rule.area_field, case.area if case else None),
            opened_by=first.id,
            due=due.result,
            state=state,
            closed_on=closed_on,
            explanation=explanation,
        )
    ]


def diff(before: Mapping[str, ObligationDraft], after: Sequence[ObligationDraft]) -> list[Change]:
    changes: list[Change] = []
    for new in after:
        old = before.get(new.id)
        if old == new:
            continue
        changes.append(Change(_change_kind(old, new), new.id, old, new))
    wanted = {d.id for d in after}
    changes.extend(Change("removed", i, old, None) for i, old in before.items() if i not in wanted)
    return changes


def _change_kind(old: ObligationDraft | None, new: ObligationDraft) -> ChangeKind:
    if old is None:
        return "opened"
    if old.state != new.state:
        if new.state == "cancelled":
            return "cancelled"
        return "reopened" if new.state == "open" else "closed"
    if old.due != new.due:
        return "recalculated"
    return "updated"


def _earliest_close(
    closes: Sequence[Match], facts: Sequence[Fact], calendar: Calendar
) -> date | None:
    dates = [
        _done_on(match, fact, calendar)
        for fact in facts
        for match in closes
        if match.accepts(fact.type, fact.data)
    ]
    return min(dates, default=None)


def _done_on(match: Match, fact: Fact, calendar: Calendar) -> date:
    if match.date_field and fact.data.get(match.date_field):
        return date.fromisoformat(fact.data[match.date_field])
    return calendar.london_date(fact.time)


def _cancelling(cancels: Sequence[Match], facts: Sequence[Fact], standing: Fact) -> Fact | None:
    later = [
        f
        for f in facts
        if f.order > standing.order and any(m.accepts(f.type, f.data) for m in cancels)
    ]
    return min(later, key=lambda f: f.order, default=None)


def _field_or(data: Mapping[str, object], name: str | None, fallback: str | None) -> str | None:
    return (_text(data.get(name)) if name else None) or fallback


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
