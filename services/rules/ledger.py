"""The engine's state, in memory: tracked things, linked facts and cases, and how one event
(or a batch) changes their obligations.

Pure: the tracker loads the part of the state a batch touches from the database, applies the
batch here and saves what changed; tests run whole histories through it with no database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from services.rules.calendar import Calendar
from services.rules.engine import (
    Derivation,
    LinkRef,
    Router,
    TrackRef,
    add_fact,
    derive_opened,
    diff,
    link_of,
    openers,
    track_urn,
)
from services.rules.model import CaseInfo, Change, Fact, ObligationDraft
from services.rules.pack import Rule
from services.rules.reallocation import EVENT as REALLOCATED
from services.rules.reallocation import Move, case_owner_before, moved_by, reallocated

TrackKey = tuple[str, str]  # (rule, key)
LinkKey = tuple[str, str]  # (rule, link value)


@dataclass(slots=True)
class TrackState:
    rule: str
    key: str
    urn: str | None = None
    link: str | None = None
    facts: tuple[Fact, ...] = ()
    obligations: dict[str, ObligationDraft] = field(default_factory=dict)
    refresh_on: date | None = None

    def copy(self) -> TrackState:
        """A copy whose obligations can change apart from these (the facts are a tuple): made
        for every track a batch saves or takes from memory, where dataclasses.replace cost
        more than the rest of the save."""
        return TrackState(
            self.rule, self.key, self.urn, self.link, self.facts, dict(self.obligations),
            self.refresh_on,
        )  # fmt: skip


class Ledger:
    def __init__(self, rules: Sequence[Rule], calendar: Calendar) -> None:
        self.rules = tuple(rules)
        self.router = Router(self.rules)
        self._by_id = {rule.id: rule for rule in rules}
        # The rules whose tracks have a link, by their opening event's type: only those events
        # can give one (link_of), so the others are never asked.
        self._linking: dict[str, list[Rule]] = defaultdict(list)
        for rule in self.rules:
            if rule.link_field:
                self._linking[rule.opens.type].append(rule)
        self.calendar = calendar
        # Empty in memory; the tracker fills in what a batch touches (hold, linked, cases).
        self.tracks: dict[TrackKey, TrackState] = {}
        self.linked: dict[LinkKey, tuple[Fact, ...]] = {}
        self.cases: dict[str, CaseInfo] = {}
        # Each case's case-reallocated facts, in time order (reallocation.py).
        self.reallocations: dict[str, tuple[Fact, ...]] = {}
        self.touched_reallocations: set[str] = set()  # cases whose reallocations to save
        # What each reallocation applied by `apply` moved, by "source#id", for its audit entry
        # (reallocation.moved_by).
        self.moved: dict[str, Move] = {}
        self.touched: set[TrackKey] = set()  # tracks to save
        self.touched_links: set[LinkKey] = set()
        # Each fact is routed once per batch: the tracker asks first, to know what to load.
        self._routes: dict[Fact, list[TrackRef | LinkRef]] = {}

    def routes(self, fact: Fact) -> list[TrackRef | LinkRef]:
        """Which tracks and links this fact reaches (Router.route, remembered)."""
        found = self._routes.get(fact)
        if found is None:
            found = self._routes[fact] = self.router.route(fact)
        return found

    def hold(self, tracks: Iterable[TrackState]) -> None:
        """Take these tracks (loaded from storage) into the state."""
        self.tracks.update(((t.rule, t.key), t) for t in tracks)

    def apply(self, facts: Iterable[Fact], *, today: date) -> list[Change]:
        """Add accepted facts and return every obligation change they cause."""
        causes: dict[TrackKey, list[str]] = defaultdict(list)
        index = _Index(self.tracks)
        moves: list[Fact] = []
        for fact in facts:
            label = f"{fact.source}#{fact.id}"
            if fact.type == "case-registered" and self._register(fact):
                # A case registered (or reassigned) after its obligations were opened gives
                # them their owner and area.
                for key in index.of_urn(fact.data["urn"]):
                    causes[key].append(label)
            if fact.type == REALLOCATED and self._reallocate(fact):
                moves.append(fact)
                # Every obligation of the case: its open ones move to the new owner.
                for key in index.of_urn(fact.data["urn"]):
                    causes[key].append(label)
            for ref in self.routes(fact):
                if isinstance(ref, LinkRef):
                    self._link(ref, fact)
                    for key in index.of_link((ref.rule, ref.link)):
                        causes[key].append(label)
                    continue
                key = (ref.rule, ref.key)
                track = self.tracks.get(key)
                if track is None:
                    track = self.tracks[key] = TrackState(ref.rule, ref.key, ref.urn)
                    index.add(key, track)
                track.facts = add_fact(track.facts, fact)
                urn = track_urn(self._by_id.get(ref.rule), track.facts)
                if urn != track.urn:
                    index.moved(key, track.urn, urn)
                    track.urn = urn
                causes[key].append(label)
        changes = self._rederive(causes, today)
        for move in moves:
            self.moved[f"{move.source}#{move.id}"] = self._moved_by(move, today)
        return changes

    def refresh(self, *, today: date) -> list[Change]:
        """Re-derive the tracks that the passing of time changes (a recurring period begun)."""
        keys = [k for k, t in self.tracks.items() if t.refresh_on and t.refresh_on <= today]
        return self._rederive({key: [f"clock:{today}"] for key in keys}, today)

    def obligations(self) -> list[ObligationDraft]:
        return [d for t in self.tracks.values() for d in t.obligations.values()]

    def links_needed(self, facts: Iterable[Fact] = ()) -> set[LinkKey]:
        """The linked facts a derivation may read, of the tracks held and of these new facts."""
        every = [*facts, *(f for t in self.tracks.values() for f in t.facts)]
        return {
            (rule.id, link)
            for f in every
            for rule in self._linking.get(f.type, ())
            if (link := link_of(rule, f))
        }

    def _register(self, fact: Fact) -> bool:
        urn = fact.data["urn"]
        old = self.cases.get(urn)
        if old is not None and old.order is not None and old.order >= fact.order:
            return False
        new = CaseInfo(urn, fact.data["area"], fact.data["unit"], fact.data["owner"], fact.order)
        self.cases[urn] = new
        return old is None or (old.area, old.unit, old.owner) != (new.area, new.unit, new.owner)

    def _reallocate(self, fact: Fact) -> bool:
        urn = str(fact.data["urn"])
        held = self.reallocations.get(urn, ())
        now = add_fact(held, fact)
        if now is held:
            return False
        self.reallocations[urn] = now
        self.touched_reallocations.add(urn)
        return True

    def _link(self, ref: LinkRef, fact: Fact) -> None:
        key = (ref.rule, ref.link)
        self.linked[key] = add_fact(self.linked.get(key, ()), fact)
        self.touched_links.add(key)

    def _rederive(self, causes: Mapping[TrackKey, list[str]], today: date) -> list[Change]:
        changes: list[Change] = []
        for key, cause in causes.items():
            rule = self._by_id.get(key[0])
            if rule is None:
                continue  # a rule withdrawn from the pack: its obligations stay as they were
            track = self.tracks[key]
            derived = self._derive(rule, track, today)
            drafts = derived.drafts
            if track.urn and (moves := self.reallocations.get(track.urn)):
                drafts = reallocated(rule, drafts, moves)
            found = diff(track.obligations, drafts)
            changes.extend(
                Change(c.kind, c.obligation_id, c.before, c.after, tuple(dict.fromkeys(cause)))
                for c in found
            )
            track.obligations = {d.id: d for d in drafts}
            track.link, track.refresh_on = derived.link, derived.refresh_on
            self.touched.add(key)
        return changes

    def _derive(self, rule: Rule, track: TrackState, today: date) -> Derivation:
        """The track's obligations as its rule derives them, before any reallocation."""
        opened = openers(rule, track.facts)
        if opened is None:
            return Derivation([])
        link = link_of(rule, opened[1])
        return derive_opened(
            rule,
            track.key,
            track.facts,
            opened,
            linked=self.linked.get((rule.id, link), ()) if link else (),
            case=self.cases.get(track.urn) if track.urn else None,
            calendar=self.calendar,
            today=today,
        )

    def _moved_by(self, fact: Fact, today: date) -> Move:
        urn = fact.data["urn"]
        every = self.reallocations.get(urn, ())
        case = self.cases.get(urn)
        found: list[tuple[str, str | None]] = []
        for track in self.tracks.values():
            rule = self._by_id.get(track.rule)
            if track.urn != urn or rule is None:
                continue
            times = {f.id: f.time for f in track.facts}
            drafts = self._derive(rule, track, today).drafts
            found += moved_by(rule, drafts, every, fact, times)
        return Move(case_owner_before(fact, every, case.owner if case else None), sorted(found))


class _Index:
    """The held tracks by URN and by link, for the facts that reach every track of a case or
    of a link (a scan of all held tracks per such fact cost more than the rest of a batch).
    Keys come back in the order the tracks were taken in, as a scan would give them."""

    def __init__(self, tracks: Mapping[TrackKey, TrackState]) -> None:
        self.position: dict[TrackKey, int] = {}
        self.by_urn: dict[str | None, set[TrackKey]] = defaultdict(set)
        self.by_link: dict[LinkKey, set[TrackKey]] = defaultdict(set)
        for key, track in tracks.items():
            self.add(key, track)

    def add(self, key: TrackKey, track: TrackState) -> None:
        self.position[key] = len(self.position)
        self.by_urn[track.urn].add(key)
        # A track's link changes only when it is re-derived, after every fact is in.
        self.by_link[(track.rule, track.link or "")].add(key)

    def moved(self, key: TrackKey, old: str | None, new: str | None) -> None:
        self.by_urn[old].discard(key)
        self.by_urn[new].add(key)

    def of_urn(self, urn: str) -> list[TrackKey]:
        return sorted(self.by_urn.get(urn, ()), key=self.position.__getitem__)

    def of_link(self, link: LinkKey) -> list[TrackKey]:
        return sorted(self.by_link.get(link, ()), key=self.position.__getitem__)
