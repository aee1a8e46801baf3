"""The track cache is bounded by the bytes its tracks hold, estimated (services/tracker/cache.py):
past the budget the least recently used tracks go, whatever their number."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, date, datetime

from services.rules.ledger import TrackState
from services.rules.model import Fact, ObligationDraft
from services.tracker.cache import TrackCache, Written, footprint

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def written(key: str, facts: int = 1, version: int = 1, text: int = 100) -> Written:
    """A track of `facts` facts, each `text` characters of JSON, and one obligation."""
    made = tuple(Fact("/cms", f"{key}-{n}", "hearing-held", AT, {"x": "y"}) for n in range(facts))
    texts = {(f.source, f.id): json.dumps({"pad": "x" * (text - 11)}) for f in made}
    draft = ObligationDraft(
        id=f"rule/{key}",
        rule="rule",
        key=key,
        urn=None,
        owner=None,
        area=None,
        opened_by="e",
        due=date(2026, 1, 9),
        state="open",
        closed_on=None,
        explanation="because",
    )
    state = TrackState(rule="rule", key=key, facts=made, obligations={draft.id: draft})
    return Written(version, state, texts)


def kept(cache: TrackCache) -> list[str]:
    return [key for _, _, key in cache.tracks]


def test_a_track_costs_more_the_more_facts_it_holds() -> None:
    assert footprint(written("a", facts=10)) > footprint(written("a", facts=1))
    assert footprint(written("a", text=5000)) > footprint(written("a", text=100))


def test_past_the_budget_the_least_recently_used_go() -> None:
    a, b, c = written("a"), written("b"), written("c")
    cache = TrackCache(budget=footprint(a) + footprint(b))
    cache.keep([a, b])
    assert cache.take(("rule", "a"), 1) is not None  # a is now used more recently than b

    cache.keep([c])

    assert kept(cache) == ["a", "c"]
    assert cache.held == footprint(a) + footprint(c) <= cache.budget


def test_the_bound_is_on_bytes_not_tracks() -> None:
    small = [written(f"s{n}") for n in range(10)]
    big = written("big", facts=4, text=500)
    cache = TrackCache(budget=sum(footprint(w) for w in small))
    cache.keep(small)
    assert len(cache.tracks) == 10

    cache.keep([big])  # one large track pushes out several small ones

    assert kept(cache)[-1] == "big"
    assert len(cache.tracks) < 10
    assert cache.held <= cache.budget


def test_writing_a_kept_track_again_replaces_its_cost() -> None:
    cache = TrackCache(budget=10**9)
    cache.keep([written("a", facts=1, version=1)])
    cache.keep([written("a", facts=5, version=2)])

    assert kept(cache) == ["a"]
    assert cache.held == footprint(written("a", facts=5, version=2))
    assert cache.take(("rule", "a"), 1) is None  # the database holds version 2
    assert cache.take(("rule", "a"), 2) is not None


def test_a_track_larger_than_the_whole_budget_is_not_kept() -> None:
    cache = TrackCache(budget=footprint(written("a")))
    cache.keep([written("huge", facts=50)])

    assert kept(cache) == []
    assert cache.held == 0


def test_a_track_copy_keeps_every_field_and_owns_its_obligations() -> None:
    # TrackState.copy names each field: a field added later must be added there too.
    assert [f.name for f in fields(TrackState)] == [
        "rule", "key", "urn", "link", "facts", "obligations", "refresh_on",
    ]  # fmt: skip
    state = written("a", facts=2).state
    state.urn, state.link, state.refresh_on = "43TC0000117", "R1", date(2026, 2, 1)
    copy = state.copy()
    assert copy == state
    copy.obligations.clear()
    assert state.obligations
