"""A case reallocated: who owns its obligations (contract section 2, "Added event types").

Pure. The latest reallocation (by `time`) that applies to an obligation gives its owner, over
the rule's own owner and the case's: one applies unless the obligation was closed or cancelled
before the reallocation's date, so an obligation already done keeps the owner who did it, and
one opened later is the new owner's. A function of the set of facts, not of arrival order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from services.rules.model import Fact, ObligationDraft
from services.rules.pack import Rule

EVENT = "case-reallocated"


@dataclass(frozen=True, slots=True)
class Move:
    """What one reallocation moved: the case's owner before it (the latest earlier
    reallocation's new owner, else the registered owner) and (obligation id, owner before)."""

    case_owner_before: str | None
    obligations: list[tuple[str, str | None]] = field(default_factory=list)


def case_owner_before(
    fact: Fact, reallocations: Sequence[Fact], registered: str | None
) -> str | None:
    earlier = [r for r in reallocations if r.order < fact.order]
    return str(max(earlier, key=lambda f: f.order).data["new_owner"]) if earlier else registered


def reallocated(
    rule: Rule, drafts: Sequence[ObligationDraft], reallocations: Sequence[Fact]
) -> list[ObligationDraft]:
    """The drafts with the owner the case's reallocations give them. A rule whose owner is
    someone other than the case's lawyer by design (`owner_from`: a manager's manager) keeps
    its owner."""
    if not reallocations or rule.owner_from is not None:
        return list(drafts)
    found = []
    for draft in drafts:
        applying = [
            f
            for f in reallocations
            if f.data.get("urn") == draft.urn
            and (draft.closed_on is None or reallocated_on(f) <= draft.closed_on)
        ]
        if not applying:
            found.append(draft)
            continue
        latest = max(applying, key=lambda f: f.order)
        owner = str(latest.data["new_owner"])
        note = (
            f" Reallocated to {owner} on {reallocated_on(latest)}"
            f" (event {latest.source}#{latest.id})."
        )
        found.append(replace(draft, owner=owner, explanation=draft.explanation + note))
    return found


def reallocated_on(fact: Fact) -> date:
    return date.fromisoformat(str(fact.data["reallocated_date"]))


def moved_by(
    rule: Rule,
    drafts: Sequence[ObligationDraft],
    reallocations: Sequence[Fact],
    fact: Fact,
    opened_at: Mapping[str, datetime],
) -> list[tuple[str, str | None]]:
    """What one reallocation moved, as (obligation id, owner before), from the drafts the
    rule derives without reallocations (`opened_at`: the time of each draft's `opened_by`
    event): the case's obligations opened by its `time` and not closed before its date, whose
    owner under the earlier reallocations was someone else. A function of the set of facts, so
    its audit entry reads the same whatever the arrival order or batching; a reallocation
    superseded later still moved what it moved then."""
    if rule.owner_from is not None:
        return []
    earlier = [r for r in reallocations if r.order < fact.order]
    on, to = reallocated_on(fact), str(fact.data["new_owner"])
    found = []
    for draft in drafts:
        if draft.urn != fact.data.get("urn") or (draft.closed_on and draft.closed_on < on):
            continue
        opened = opened_at.get(draft.opened_by)
        if opened is not None and opened > fact.time:
            continue  # opened later: the new owner's from the start, not moved
        [before] = reallocated(rule, [draft], earlier)
        if before.owner != to:
            found.append((draft.id, before.owner))
    return found
