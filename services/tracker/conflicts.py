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

from services.rules.model import Fact
from services.tracker.cache import FactKey


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
