"""Rule specifications: what opens, closes and cancels an obligation, and how its due date runs.

Rules are data (services/rules/default-pack.yaml, or an Area's own file); packfile.py reads them
into these objects and the engine interprets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.rules.due import Due

Recurrence = Literal["weekly", "monthly", "quarterly"]


@dataclass(frozen=True, slots=True)
class Present:
    """A `when` condition on whether a field holds a value at all (absent, null and "" do not)."""

    wanted: bool

    def test(self, value: object) -> bool:
        return (value is not None and value != "") is self.wanted


def condition_holds(when: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """Every condition holds: a value must be equal, a list holds the values allowed."""
    for name, wanted in when.items():
        value = data.get(name)
        if isinstance(wanted, Present):
            if not wanted.test(value):
                return False
        elif isinstance(wanted, list | tuple):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Match:
    """Events of `type` whose data meet `when`, tracked by `key_fields`."""

    type: str
    key_fields: tuple[str, ...]
    when: Mapping[str, Any] = field(default_factory=dict)
    date_field: str | None = None  # the date it was done; without one, the date of `time`
    later: bool = False  # counts only when later (by `time`) than the opening event that stands
    # Reaches the tracked thing through a field of the opening event instead of its key: a
    # follow-up assessment names the recommendation, not the actions committed against it.
    via: str | None = None
    before_due: bool = False  # cancels only when dated before the obligation's due date
    # The opening event's field that `via` values are compared with, when it is named
    # differently (a staff-updated `staff_id` reaching checks by their `checked_by`).
    link: str | None = None
    # Fields whose values must equal the opening event's (a `via` match reaching a case's
    # reviews picks the hearing each one is about by its `hearing_id`).
    same: tuple[str, ...] = ()
    # Counts only when it is the latest (by `time`) of its type reaching the obligation (with
    # the same `same` values), whatever its `time` against the opening event: a hearing
    # vacated and then listed again is not vacated.
    latest: bool = False

    def accepts(self, event_type: str, data: Mapping[str, Any]) -> bool:
        # Most matches have no `when`: asked for every fact routed and every fact a derivation
        # reads, the call to condition_holds was most of the cost.
        return event_type == self.type and (not self.when or condition_holds(self.when, data))

    def key_of(self, data: Mapping[str, Any]) -> str | None:
        parts = [key_part(data, name) for name in self.key_fields]
        if any(part is None or part == "" for part in parts):
            return None
        return "/".join(str(part) for part in parts)


MONTH_SUFFIX = ":month"


def key_part(data: Mapping[str, Any], name: str) -> object:
    """A key field's value; `FIELD:month` takes the YYYY-MM of a date field, so one tracked
    thing holds a calendar month of events (a manager's checks in a month)."""
    if name.endswith(MONTH_SUFFIX):
        value = data.get(name.removesuffix(MONTH_SUFFIX))
        return str(value)[:7] if value else None
    return data.get(name)


def field_name(key: str) -> str:
    return key.removesuffix(MONTH_SUFFIX)


@dataclass(frozen=True, slots=True)
class Renewal:
    """An event that closes the current obligation and opens the next (a CTL extended)."""

    match: Match
    due: Due


@dataclass(frozen=True, slots=True)
class RecurrenceSpec:
    """Field names in the opening event: how often, from when, until when (optional)."""

    every: str
    starts: str
    ends: str


ROLES = ("owner", "legal-manager", "unit-head", "dccp", "ccp", "abm")


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Who hears about an obligation at one point of its life: at each warning, at the lapse,
    or `after` working days after the lapse. Read by the lapse clock only, never the engine."""

    at: Literal["warning", "lapse", "after"]
    to: tuple[str, ...]  # roles, from ROLES
    after: int = 0  # working days after the lapse, for at == "after"


# An Area pack that gives a rule no escalation: the owner at each warning, the owner and the
# owner's line manager at the lapse.
DEFAULT_ESCALATION = (
    EscalationStep("warning", ("owner",)),
    EscalationStep("lapse", ("owner", "legal-manager")),
)


@dataclass(frozen=True, slots=True)
class SampleSpec:
    """Each calendar month, `percent` of the items tracked (per key) are drawn, reproducibly:
    ranked by a hash of the rule, the key and the item, so the draw depends only on the set."""

    percent: int
    month_field: str  # the opening event's date field whose month is sampled
    item_fields: tuple[str, ...]  # what one sampled item is (a check: its urn)


@dataclass(frozen=True, slots=True)
class QuotaSpec:
    """The obligation is met only when `count` distinct items (by `item_fields`) of its closing
    events have arrived, on the date of the `count`-th by date (a legal manager's IQAs in a
    month). Order-insensitive: a duplicate item counts once, and the dates decide."""

    count: int
    item_fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OwnerFrom:
    """The owner is a field of the latest linked event (the line manager in staff-updated)."""

    match: Match
    field: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    source: str
    opens: Match
    due: Due
    closes: tuple[Match, ...]
    # A cancelling event ends the obligation only when it is later (by `time`) than the
    # opening event that stands: a hearing vacated after it was recorded as held.
    cancels: tuple[Match, ...] = ()
    due_when: tuple[tuple[Mapping[str, Any], Due], ...] = ()
    renews: tuple[Renewal, ...] = ()
    recurrence: RecurrenceSpec | None = None
    owner_field: str | None = None  # falls back to the case owner
    area_field: str | None = None  # falls back to the case area
    warnings: tuple[int, ...] = ()  # working days before due when the owner is warned
    unconfirmed: bool = False
    sample: SampleSpec | None = None
    owner_from: OwnerFrom | None = None
    escalation: tuple[EscalationStep, ...] = DEFAULT_ESCALATION
    business: bool = False  # a business or operational lapse: the ABM is copied at the lapse
    # The due expression's fields are read from the latest (by `time`) of these events
    # instead of the opening event (a review due before the hearing it names); no obligation
    # until one arrives.
    due_from: Match | None = None
    quota: QuotaSpec | None = None  # Added (docs/contract.md section 4, "Rule pack format")

    def matches(self) -> tuple[Match, ...]:
        described: tuple[Match, ...] = (self.owner_from.match,) if self.owner_from else ()
        described += (self.due_from,) if self.due_from else ()
        return (
            self.opens,
            *self.closes,
            *self.cancels,
            *(r.match for r in self.renews),
            *described,
        )

    def due_for(self, data: Mapping[str, Any]) -> Due:
        for condition, due in self.due_when:
            if condition_holds(condition, data):
                return due
        return self.due

    # The opening event's field that `via` matches reach this rule's obligations by; worked
    # out once, as every event of a batch asks.
    link_field: str | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        link = next((m.link or m.via for m in self.matches() if m.via), None)
        object.__setattr__(self, "link_field", link)
