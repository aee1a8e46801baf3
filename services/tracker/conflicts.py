"""Conflicting duplicates: an event with the (source, id) of one stored before, or of one earlier
in its batch, and other content (docs/contract.md, section 1, "Decisions: conflicting duplicates").

The pair is the idempotency key (docs/contract.md section 1), so the first content stands and
the other changes nothing; it is kept as a dead letter of origin "conflict" with both contents,
so the disagreement is seen. Content is compared as the tracker keeps it, the fact: type, time
as an instant, and data after validation (defaults filled in), never the bytes sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from schemas import bulk
from schemas.tables import DeadLetter
from services.rules.model import Fact
from services.tracker.cache import FactKey

CONFLICT = "conflict"  # the dead letters' origin


@dataclass(frozen=True, slots=True)
class Conflict:
    received: Fact  # not applied
    standing: Fact  # the content that stands under the same key
    stored_before: bool  # by an earlier batch (else it came earlier in this one)


def find_conflicts(
    facts: Sequence[Fact], first: Sequence[Fact], stored: Mapping[FactKey, Fact]
) -> list[Conflict]:
    """The facts of a batch (in order) whose content is not the one that stands under their
    key: the content `stored` before this batch, else the batch's `first` of that key (the
    one object per key kept by merge_facts). Exact duplicates are not conflicts."""
    if not stored and len(first) == len(facts):
        return []  # no key stored, none repeated: the hot path costs this comparison
    firsts = {(f.source, f.id): f for f in first}
    found = []
    for fact in facts:
        key = (fact.source, fact.id)
        before = stored.get(key)
        standing = before if before is not None else firsts[key]
        if standing is not fact and standing != fact:
            found.append(Conflict(fact, standing, before is not None))
    return found


def differences(a: Fact, b: Fact) -> list[str]:
    """What differs between two facts of one key: `type`, `time`, `data.<field>`."""
    named = [n for n in ("type", "time") if getattr(a, n) != getattr(b, n)]
    fields = dict.fromkeys([*a.data, *b.data])
    return named + [f"data.{n}" for n in fields if a.data.get(n, ...) != b.data.get(n, ...)]


def canonical(fact: Fact) -> str:
    """The fact as JSON with sorted keys: one text per content, so both of a conflict's
    contents read alike and a content kept once is known again."""
    return json.dumps(fact.to_json(), sort_keys=True)


def letter_of(conflict: Conflict) -> DeadLetter:
    received, standing = conflict.received, conflict.standing
    where = "an event stored before" if conflict.stored_before else "an earlier event of its batch"
    return DeadLetter(
        origin=CONFLICT,
        event_source=received.source,
        event_id=received.id,
        field=", ".join(differences(standing, received)) or None,
        reason=f"same source and id as {where}, other content: that one stands, this one "
        "changed nothing",
        raw=canonical(received),
        stored=canonical(standing),
    )


async def keep_conflicts(*, session: AsyncSession, conflicts: Sequence[Conflict]) -> int:
    """Add a dead letter for each conflicting content not kept before under its key (entries
    are delivered at least once: a redelivered conflict is kept once); how many were added."""
    if not conflicts:
        return 0
    query = "SELECT event_source, event_id, raw, origin FROM dead_letters"
    keys = [(c.received.source, c.received.id) for c in conflicts]
    rows = await bulk.select_where(session, query, bulk.PairsIn("event_source", "event_id", keys))
    kept = {(s, i, raw) for s, i, raw, origin in rows if origin == CONFLICT}
    letters = []
    for conflict in conflicts:
        letter = letter_of(conflict)
        mark = (letter.event_source, letter.event_id, letter.raw)
        if mark not in kept:
            kept.add(mark)
            letters.append(letter)
    session.add_all(letters)
    await session.flush()
    return len(letters)
