"""The pure rules engine: facts in, obligations out. No I/O and no clock.

Each tracked thing (a hearing, a victim's letter, a defendant's custody) keeps the set of facts
routed to it, and its obligations are derived from the whole set every time. Arrival order and
duplicates therefore cannot change the outcome; only the facts' own `time` values decide which
of two stands. `today` matters only to recurring rules, whose periods exist once they begin.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from services.rules.calendar import Calendar, Computation
from services.rules.model import CaseInfo, Change, ChangeKind, Fact, ObligationDraft, StoredState
from services.rules.pack import Match, Renewal, Rule, condition_holds
from services.rules.periods import period_after, period_of, periods
from services.rules.sampling import sampled


@dataclass(frozen=True, slots=True)
class TrackRef:
    rule: str
    key: str
    urn: str | None


@dataclass(frozen=True, slots=True)
class LinkRef:
    """A fact that reaches a rule's obligations through the opening events' link field."""

    rule: str
    link: str


@dataclass(frozen=True, slots=True)
class Derivation:
    drafts: list[ObligationDraft]
    link: str | None = None  # the standing opener's link field value
    refresh_on: date | None = None  # when the passing of time alone changes the drafts


class Router:
    """Which tracked things a fact is about, one per rule that cares.

    Indexes the rules' matches by event type once, as every fact of a batch is routed.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._by_type: dict[str, list[tuple[Rule, list[Match]]]] = {}
        for rule in rules:
            for match in rule.matches():
                entries = self._by_type.setdefault(match.type, [])
                if not entries or entries[-1][0] is not rule:
                    entries.append((rule, []))
                entries[-1][1].append(match)

    def route(self, fact: Fact) -> list[TrackRef | LinkRef]:
        refs: list[TrackRef | LinkRef] = []
        for rule, matches in self._by_type.get(fact.type, ()):
            for match in matches:
                # Of this fact's type already (indexed by it): only `when` is left to ask.
                if match.when and not condition_holds(match.when, fact.data):
                    continue
                if match.via:
                    if link := _text(fact.data.get(match.via)):
                        refs.append(LinkRef(rule.id, link))
                        break
                elif key := match.key_of(fact.data):
                    refs.append(TrackRef(rule.id, key, _text(fact.data.get("urn"))))
                    break
        return refs


def route(rules: Iterable[Rule], fact: Fact) -> list[TrackRef | LinkRef]:
    """Which tracked things this fact is about, one per rule that cares."""
    return Router(rules).route(fact)


def link_of(rule: Rule, fact: Fact) -> str | None:
    """The link value an opening fact gives its track, if the rule has a link field."""
    if rule.link_field is None or not rule.opens.accepts(fact.type, fact.data):
        return None
    return _text(fact.data.get(rule.link_field))


def standing_opener(rule: Rule, facts: Iterable[Fact]) -> Fact | None:
    """Of the events that open this rule's obligation, the one with the latest `time` stands."""
    found = openers(rule, facts)
    return found[1] if found else None


def openers(rule: Rule, facts: Iterable[Fact]) -> tuple[Fact, Fact] | None:
    """The first and the standing (latest) of the events that open this rule's obligation."""
    opens = rule.opens
    first = standing = None
    for fact in facts:
        if fact.type == opens.type and opens.accepts(fact.type, fact.data):
            order = fact.order
            if first is None or order < first.order:
                first = fact
            if standing is None or order > standing.order:
                standing = fact
    return None if first is None or standing is None else (first, standing)


def track_urn(rule: Rule | None, facts: Sequence[Fact]) -> str | None:
    """The case a tracked thing belongs to: the standing opener's URN, else the latest fact's.

    A function of the set of facts, not of which arrived first, so the owner and area taken
    from the case cannot depend on arrival order.
    """
    standing = standing_opener(rule, facts) if rule else None
    if standing is not None and (urn := _text(standing.data.get("urn"))):
        return urn
    return next((u for f in reversed(facts) if (u := _text(f.data.get("urn")))), None)


def merge_facts(existing: Iterable[Fact], new: Iterable[Fact]) -> tuple[Fact, ...]:
    """Union by (source, id), in time order: a duplicate event adds nothing."""
    by_key = {(f.source, f.id): f for f in existing}
    for fact in new:
        by_key.setdefault((fact.source, fact.id), fact)
    return tuple(sorted(by_key.values(), key=lambda f: f.order))


def add_fact(facts: tuple[Fact, ...], fact: Fact) -> tuple[Fact, ...]:
    """`merge_facts(facts, [fact])` for facts already merged (unique and in time order), as a
    track gains its events one at a time: an insertion instead of a sort of them all."""
    source, id_ = fact.source, fact.id
    if any(f.id == id_ and f.source == source for f in facts):
        return facts
    at = bisect_right(facts, fact.order, key=_order)
    return (*facts[:at], fact, *facts[at:])


def _order(fact: Fact) -> tuple[datetime, str, str]:
    return fact.order


@dataclass(slots=True)
class _Segment:
    """One obligation of a track: the first, or one opened by a renewal."""

    id: str
    opened_by: Fact
    due: Computation
    closes: list[date] = field(default_factory=list)


@dataclass(slots=True)  # not frozen: made for every derivation, and a frozen one is slow to make
class _Track:
    rule: Rule
    key: str
    facts: Sequence[Fact]
    linked: Sequence[Fact]
    first: Fact
    standing: Fact
    case: CaseInfo | None
    calendar: Calendar

    def matching(self, match: Match) -> list[Fact]:
        pool = self.linked if match.via else self.facts
        wanted = match.type  # compared first: most facts of a track are of other types
        if match.same or match.latest:
            pool = self._same(match, [f for f in pool if f.type == wanted])
        return [
            f
            for f in pool
            if f.type == wanted
            and match.accepts(f.type, f.data)
            and (not match.later or f.order > self.standing.order)
        ]

    def _same(self, match: Match, found: list[Fact]) -> list[Fact]:
        """Those with the standing opener's values of `same`; with `latest`, only the latest
        of them (whatever its `when`)."""
        data = self.standing.data
        found = [f for f in found if all(f.data.get(n) == data.get(n) for n in match.same)]
        if match.latest and found:
            return [max(found, key=_order)]
        return found

    def cancels(self) -> list[tuple[Fact, date, Match]]:
        """Cancelling facts later than the standing opener (or, for a `latest` match, the
        current state of what it reaches, whatever its time), earliest first."""
        found = [
            (f, self.done_on(m, f), m)
            for m in self.rule.cancels
            for f in self.matching(m)
            if m.latest or f.order > self.standing.order
        ]
        return sorted(found, key=lambda item: item[0].order)

    def done_on(self, match: Match, fact: Fact) -> date:
        if match.date_field and fact.data.get(match.date_field):
            return date.fromisoformat(fact.data[match.date_field])
        return self.calendar.london_date(fact.time)

    def draft(
        self, id_: str, opened_by: Fact, due: Computation, closed: date | None, cancel: date | None
    ) -> ObligationDraft:
        state: StoredState
        closed_on = closed
        if cancel and not (closed and closed <= cancel):
            state, closed_on = "cancelled", cancel
        elif closed:
            state = "met" if closed <= due.result else "met-late"
        else:
            state = "open"
        data, case = self.standing.data, self.case
        # With `owner_from`, the owner and (after the event's own area) the Area are the
        # latest linked staff record's (docs/contract.md section 4, "Rule iqa-quota").
        owner_from = self.rule.owner_from
        staff = (
            max((f for f in self.linked if owner_from.match.accepts(f.type, f.data)), key=_order,
                default=None)
            if owner_from
            else None
        )  # fmt: skip
        explanation = (
            f"{self.rule.title} [{self.rule.id}]. Due {due.result}: {due.explanation} "
            f"(event {opened_by.source}#{opened_by.id}). Source: {self.rule.source}."
        )
        if state == "cancelled":
            explanation += f" Cancelled on {closed_on}."
        elif closed_on:
            explanation += f" Done on {closed_on}{' (late)' if state == 'met-late' else ''}."
        return ObligationDraft(
            id=id_,
            rule=self.rule.id,
            key=self.key,
            urn=_text(data.get("urn")),
            owner=(_text(staff.data.get(owner_from.field)) if staff and owner_from else None)
            or _field_or(data, self.rule.owner_field, case.owner if case else None),
            area=_field_or(data, self.rule.area_field, None)
            or (_text(staff.data.get("area")) if staff else None)
            or (case.area if case else None),
            opened_by=self.first.id if opened_by is self.standing else opened_by.id,
            due=due.result,
            state=state,
            closed_on=closed_on,
            explanation=explanation,
        )


def derive(
    rule: Rule,
    key: str,
    facts: Sequence[Fact],
    *,
    linked: Sequence[Fact] = (),
    case: CaseInfo | None,
    calendar: Calendar,
    today: date,
) -> Derivation:
    opened = openers(rule, facts)
    if opened is None:
        return Derivation([])
    return derive_opened(
        rule, key, facts, opened, linked=linked, case=case, calendar=calendar, today=today
    )


def derive_opened(
    rule: Rule,
    key: str,
    facts: Sequence[Fact],
    opened: tuple[Fact, Fact],
    *,
    linked: Sequence[Fact] = (),
    case: CaseInfo | None,
    calendar: Calendar,
    today: date,
) -> Derivation:
    """`derive` for a caller that has found the openers already (`openers(rule, facts)`)."""
    first, standing = opened
    track = _Track(rule, key, facts, linked, first, standing, case, calendar)
    link = link_of(rule, standing)
    if rule.recurrence:
        drafts, refresh_on = _recurring(track, today)
        return Derivation(drafts, link, refresh_on)
    if rule.sample:
        drafts, refresh_on = sampled(
            rule=rule, key=key, facts=facts, linked=linked, calendar=calendar, today=today
        )
        return Derivation(drafts, link, refresh_on)
    return Derivation(_chain(track), link)


def _chain(track: _Track) -> list[ObligationDraft]:
    """The first obligation, and one more for every renewal (a CTL extended), in time order."""
    rule = track.rule
    standing = track.standing
    expression = rule.due_for(standing.data)
    if rule.due_from is None:
        first_due = expression.compute(standing.data, track.calendar)
    else:
        dated_by = track.matching(rule.due_from)
        if not dated_by:
            return []  # not dated until the event it is due from arrives (a hearing listed)
        latest = max(dated_by, key=_order)
        computed = expression.compute(latest.data, track.calendar)
        first_due = Computation(
            computed.result,
            f"{computed.explanation} ({latest.type} {latest.source}#{latest.id})",
        )
    segments = [_Segment(f"{rule.id}/{track.key}", standing, first_due)]
    if rule.quota is not None:
        return [_quota(track, segments[0])]
    steps: list[tuple[Fact, Match, Renewal | None]] = [
        (f, m, None) for m in rule.closes for f in track.matching(m)
    ]
    steps += [(f, r.match, r) for r in rule.renews for f in track.matching(r.match)]
    for fact, match, renewal in sorted(steps, key=lambda step: step[0].order):
        segments[-1].closes.append(track.done_on(match, fact))
        if renewal:
            due = renewal.due.compute(fact.data, track.calendar)
            segments.append(_Segment(f"{rule.id}/{track.key}/{len(segments) + 1}", fact, due))

    cancel = None
    last = segments[-1]
    for _fact, on, match in track.cancels():
        if not match.before_due or on < last.due.result:
            cancel = on
            break
    return [
        track.draft(
            s.id,
            s.opened_by,
            s.due,
            min(s.closes, default=None),
            cancel if s is last else None,
        )
        for s in segments
    ]


def _quota(track: _Track, segment: _Segment) -> ObligationDraft:
    """Met on the date of the `count`-th distinct item (by date, then item) of the closing
    events, if so many have arrived (docs/contract.md section 4, "Rule pack format": quota)."""
    spec = track.rule.quota
    assert spec is not None
    items: dict[str, tuple[Fact, Match]] = {}
    for match in track.rule.closes:
        for fact in sorted(track.matching(match), key=_order):
            parts = [_text(fact.data.get(name)) for name in spec.item_fields]
            if all(parts):
                items.setdefault("/".join(str(p) for p in parts), (fact, match))
    dated = sorted((track.done_on(m, f), item) for item, (f, m) in items.items())
    closed = dated[spec.count - 1][0] if len(dated) >= spec.count else None
    due = Computation(
        segment.due.result,
        f"{segment.due.explanation}; {len(dated)} of the quota of {spec.count} recorded",
    )
    cancel = min((on for _, on, _ in track.cancels()), default=None)
    return track.draft(segment.id, segment.opened_by, due, closed, cancel)


def _recurring(track: _Track, today: date) -> tuple[list[ObligationDraft], date | None]:
    """One obligation per period, from the period holding `starts` to the one holding `ends`,
    each created once its period has begun."""
    spec = track.rule.recurrence
    assert spec is not None
    data = track.standing.data
    every = str(data[spec.every])
    starts = date.fromisoformat(data[spec.starts])
    ends = date.fromisoformat(data[spec.ends]) if data.get(spec.ends) else None
    last = min(ends, today) if ends else today
    begun = list(periods(starts, last, every))

    evidence = [track.done_on(m, f) for m in track.rule.closes for f in track.matching(m)]
    cancel = min((on for _, on, _ in track.cancels()), default=None)
    until = f" to {ends}" if ends else ""
    drafts = []
    for period in begun:
        done = min((d for d in evidence if period.start <= d <= period.end), default=None)
        due = Computation(
            period.end,
            f"last day of {every} period {period.label} ({period.start} to {period.end}); "
            f"commitment from {starts}{until}",
        )
        stopped = cancel if cancel and period.start > cancel else None
        drafts.append(
            track.draft(
                f"{track.rule.id}/{track.key}/{period.label}", track.standing, due, done, stopped
            )
        )
    following = period_after(begun[-1], every) if begun else period_of(starts, every)
    refresh_on = None if ends and following.start > ends else following.start
    return drafts, refresh_on


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


def _field_or(data: Mapping[str, object], name: str | None, fallback: str | None) -> str | None:
    return (_text(data.get(name)) if name else None) or fallback


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
