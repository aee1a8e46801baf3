"""The summary as plain data: counts that always reconcile, and one dataclass per section.

Pure: no I/O, no clock. Each section names its `kind`, which picks its Markdown function and
HTML template, so a section added later needs a builder, a dataclass and its two renderings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import ClassVar

from services.summaries.weeks import IsoWeek


class Unreconciled(ValueError):
    """due != met + late + lapsed + open: a query or an assembly step lost or doubled a row."""


@dataclass(frozen=True, slots=True)
class Counts:
    """Obligations due in a period (cancelled ones excluded), by how they stand at the as-of
    date. The on-time rate is met / (met + late + lapsed), in per cent to one decimal."""

    due: int
    met: int
    late: int
    lapsed: int
    open: int
    on_time_pct: float | None = field(init=False)

    def __post_init__(self) -> None:
        if self.due != self.met + self.late + self.lapsed + self.open:
            raise Unreconciled(
                f"due {self.due} != met {self.met} + late {self.late} + lapsed {self.lapsed}"
                f" + open {self.open}"
            )
        judged = self.met + self.late + self.lapsed
        rate = round(100 * self.met / judged, 1) if judged else None
        object.__setattr__(self, "on_time_pct", rate)

    @classmethod
    def of(cls, *, met: int = 0, late: int = 0, lapsed: int = 0, open: int = 0) -> Counts:
        return cls(met + late + lapsed + open, met, late, lapsed, open)

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.due + other.due,
            self.met + other.met,
            self.late + other.late,
            self.lapsed + other.lapsed,
            self.open + other.open,
        )


ZERO = Counts(0, 0, 0, 0, 0)


def total(counts: Iterable[Counts]) -> Counts:
    return sum(counts, ZERO)


@dataclass(frozen=True, slots=True)
class Scope:
    """An Area, optionally narrowed to a unit (the case's unit) or a legal manager's team."""

    area: str
    unit: str | None = None
    manager: str | None = None

    @property
    def kind(self) -> str:
        return "team" if self.manager else "unit" if self.unit else "area"

    @property
    def id(self) -> str:
        return self.manager or self.unit or self.area

    def label(self) -> str:
        parts = [f"Area {self.area}"]
        if self.unit:
            parts.append(f"unit {self.unit}")
        if self.manager:
            parts.append(f"team of {self.manager}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class WeekRate:
    week: str
    due: int
    on_time_pct: float | None


@dataclass(frozen=True, slots=True)
class RuleTimeliness:
    rule: str  # "all" for the total row
    week: Counts
    previous: Counts
    last_4: Counts
    last_13: Counts
    trend: Sequence[WeekRate]  # 13 weeks, oldest first, ending with the summary's week


@dataclass(frozen=True, slots=True)
class Timeliness:
    kind: ClassVar[str] = "timeliness"
    week: str
    previous: str
    weeks: Sequence[str]  # the 13 weeks of the trend, oldest first
    rules: Sequence[RuleTimeliness]
    all: RuleTimeliness
    # Which week a count counts (docs/contract.md section 9, "the weekly call pack"): every
    # count here is of obligations by the ISO week their due date falls in.
    counted_by: str = "due-week"


@dataclass(frozen=True, slots=True)
class RuleCounts:
    rule: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class Group:
    key: str | None  # unit name or manager's staff id; None: no unit / no team
    label: str
    rules: Sequence[RuleCounts]
    total: Counts


@dataclass(frozen=True, slots=True)
class Breakdown:
    kind: ClassVar[str] = "breakdown"
    by: str  # "unit" or "team"
    week: str
    groups: Sequence[Group]
    counted_by: str = "due-week"


@dataclass(frozen=True, slots=True)
class Lapse:
    obligation_id: str
    rule: str
    urn: str | None
    owner: str | None
    owner_name: str | None
    manager: str | None
    due: date
    age_days: int  # calendar days past due at the as-of date
    # The highest alert step raised for this due date ("lapse", "escalation-3") and the roles
    # it went to; None while the lapse clock has raised nothing for it.
    escalation: str | None = None


@dataclass(frozen=True, slots=True)
class Lapses:
    kind: ClassVar[str] = "lapses"
    week: str
    items: Sequence[Lapse]
    counted_by: str = "due-week"


@dataclass(frozen=True, slots=True)
class PersonLoad:
    staff_id: str | None
    name: str | None
    team: str | None
    due_next_14: int
    open_past_due: int  # lapsed at the as-of date, whatever week each fell due in
    open_not_due: int = 0  # open and not yet past due, any due date

    @property
    def load(self) -> int:
        return self.open_not_due + self.open_past_due


@dataclass(frozen=True, slots=True)
class Capacity:
    """One person who could take cases: in a team, no lapse of their own, and carrying no
    more open work than the team's median (docs/contract.md section 9, "Capacity")."""

    team: str | None
    staff_id: str
    name: str | None
    unit: str | None
    load: int  # open + lapsed (always 0 lapsed: a person with a lapse is not listed)
    lapsed: int
    team_median: float


@dataclass(frozen=True, slots=True)
class Workload:
    kind: ClassVar[str] = "workload"
    starts: date
    ends: date
    people: Sequence[PersonLoad]
    teams: Sequence[PersonLoad]  # staff_id/name are the team's manager
    capacity: Sequence[Capacity] = ()
    counted_by: str = "as-of"  # open and lapsed as they stand at the as-of date


@dataclass(frozen=True, slots=True)
class ReviewRow:
    key: str | None  # court type, unit, team's manager or person; None: unknown
    label: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class ReviewTimeliness:
    """`case-review` obligations due in the week, by court type (the stage's first word),
    case unit, legal manager's team and person (docs/contract.md section 9)."""

    kind: ClassVar[str] = "review"
    week: str
    all: Counts
    by_court: Sequence[ReviewRow]
    by_unit: Sequence[ReviewRow]
    by_team: Sequence[ReviewRow]
    by_person: Sequence[ReviewRow]
    last_13: Counts = field(default_factory=lambda: ZERO)
    counted_by: str = "due-week"


@dataclass(frozen=True, slots=True)
class GroupCount:
    key: str | None  # a unit, a team's legal manager or a due week; None: no unit / no team
    label: str
    lapsed: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """Every obligation still open past its due date at the as-of date, whatever week it fell
    due in: counted by due week, case unit and team, the oldest listed (at most `limit`)."""

    kind: ClassVar[str] = "backlog"
    before: date  # due before this date: the as-of date (the Area page: the week's Monday)
    as_of: date
    total: int
    by_week: Sequence[GroupCount]
    by_unit: Sequence[GroupCount]
    by_team: Sequence[GroupCount]
    items: Sequence[Lapse]
    counted_by: str = "due-week"

    @property
    def more(self) -> int:
        """How many are counted but not listed."""
        return self.total - len(self.items)


@dataclass(frozen=True, slots=True)
class Reallocation:
    at: datetime
    urn: str
    from_owner: str | None
    to_owner: str | None
    reason: str | None
    moved: int  # obligations moved with the case
    by: str


@dataclass(frozen=True, slots=True)
class AlertAction:
    at: datetime
    alert_id: str
    obligation_ref: str | None
    level: str | None
    rule: str
    urn: str | None
    recipient: str | None
    by: str
    until: str | None = None  # snoozes only
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """What was decided since the last call: case reallocations (audit entries of entity
    `case`, action `reallocated`) and alert acknowledgements and snoozes (entity `alert`),
    recorded from `since` (inclusive) until `until` (exclusive), newest last."""

    kind: ClassVar[str] = "changes"
    since: datetime
    until: datetime
    reallocations: Sequence[Reallocation]
    acknowledgements: Sequence[AlertAction]
    snoozes: Sequence[AlertAction]
    counted_by: str = "event-time"


@dataclass(frozen=True, slots=True)
class CustodyLimit:
    obligation_id: str
    urn: str | None
    defendant: str
    owner: str | None
    owner_name: str | None
    expires: date
    days_left: int


@dataclass(frozen=True, slots=True)
class Custody:
    kind: ClassVar[str] = "custody"
    starts: date
    ends: date
    items: Sequence[CustodyLimit]
    counted_by: str = "expiry-date"  # limits expiring starts..ends, as they stand at as-of


@dataclass(frozen=True, slots=True)
class StatusCount:
    status: str
    count: int


@dataclass(frozen=True, slots=True)
class Owner:
    staff_id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class RecommendationItem:
    """A recommendation needing attention, as the call discusses it."""

    recommendation_id: str
    inspection_id: str
    number: str
    text: str  # shortened for the page (SHORT_TEXT characters at most)
    owners: Sequence[Owner]
    status: str
    flags: Sequence[str]
    next_due: date | None  # the earliest open obligation of a committed action
    final_due: date | None  # the recommendation's due date, else its last dated milestone


@dataclass(frozen=True, slots=True)
class Recommendations:
    """Inspection follow-up at the as-of date: how many recommendations stand at each status,
    and those needing attention (docs/contract.md, section 9)."""

    kind: ClassVar[str] = "recommendations"
    counts: Sequence[StatusCount]  # every status, in STATUS_ORDER, zeros included
    total: int
    attention: Sequence[RecommendationItem]
    counted_by: str = "as-of"  # statuses as they stand at the as-of date


@dataclass(frozen=True, slots=True)
class AuditSeal:
    """The audit trail's latest signed checkpoint, so a printed pack carries the head it was
    made under (docs/contract.md section 8, "Added: signed checkpoints"); all None before the
    first."""

    kind: ClassVar[str] = "audit"
    counted_by: str = "latest"  # the latest checkpoint when the pack was made
    checkpoint_id: int | None = None
    entries: int | None = None
    head: str | None = None
    made_at: str | None = None  # ISO instant, UTC, as signed
    public_key: str | None = None
    signature: str | None = None


Section = (
    ReviewTimeliness
    | Timeliness
    | Breakdown
    | Lapses
    | Backlog
    | Workload
    | Custody
    | Changes
    | Recommendations
    | AuditSeal
)


@dataclass(frozen=True, slots=True)
class Summary:
    scope: Scope
    week: IsoWeek
    as_of: date
    sections: Sequence[Section]
    # The as-of date's origin: "given" (--as-of), "week-end" (a past week judged at its
    # Sunday), "today" or "publication" (a scheduled summary).
    as_of_from: str = "given"

    def section(self, kind: str) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)


def rule_timeliness(
    rule: str, *, weekly: dict[str, Counts], weeks: Sequence[str]
) -> RuleTimeliness:
    """One rule's figures from its counts per week (weeks oldest first; missing weeks are 0)."""
    series = [weekly.get(week, ZERO) for week in weeks]
    return RuleTimeliness(
        rule=rule,
        week=series[-1],
        previous=series[-2] if len(series) > 1 else ZERO,
        last_4=total(series[-4:]),
        last_13=total(series[-13:]),
        trend=[WeekRate(w, c.due, c.on_time_pct) for w, c in zip(weeks, series, strict=True)],
    )


# The rules the call reads first in the timeliness table (docs/contract.md section 9, "The
# weekly call pack"): hearing record sheets and victim letters, then every other rule by name.
RULES_FIRST = ("hearing-record-sheet", "victim-letter")


def rule_order(rules: Iterable[str]) -> list[str]:
    return sorted(rules, key=lambda r: (RULES_FIRST.index(r) if r in RULES_FIRST else 9, r))


def timeliness(
    *, per_rule: dict[str, dict[str, Counts]], week: IsoWeek, weeks: Sequence[str]
) -> Timeliness:
    rules = [rule_timeliness(r, weekly=per_rule[r], weeks=weeks) for r in rule_order(per_rule)]
    summed: dict[str, Counts] = {}
    for weekly in per_rule.values():
        for name, counts in weekly.items():
            summed[name] = summed.get(name, ZERO) + counts
    return Timeliness(
        week=str(week),
        previous=str(week.previous()),
        weeks=list(weeks),
        rules=rules,
        all=rule_timeliness("all", weekly=summed, weeks=weeks),
    )
