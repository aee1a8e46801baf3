"""The summary as plain data: counts that always reconcile, and one dataclass per section.

Pure: no I/O, no clock. Each section names its `kind`, which picks its Markdown function and
HTML template, so a section added later needs a builder, a dataclass and its two renderings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
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


@dataclass(frozen=True, slots=True)
class PersonLoad:
    staff_id: str | None
    name: str | None
    team: str | None
    due_next_14: int
    open_past_due: int


@dataclass(frozen=True, slots=True)
class Workload:
    kind: ClassVar[str] = "workload"
    starts: date
    ends: date
    people: Sequence[PersonLoad]
    teams: Sequence[PersonLoad]  # staff_id/name are the team's manager


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


@dataclass(frozen=True, slots=True)
class AuditSeal:
    """The audit trail's latest signed checkpoint, so a printed pack carries the head it was
    made under (docs/contract.md section 8, "Added: signed checkpoints"); all None before the
    first."""

    kind: ClassVar[str] = "audit"
    checkpoint_id: int | None = None
    entries: int | None = None
    head: str | None = None
    made_at: str | None = None  # ISO instant, UTC, as signed
    public_key: str | None = None
    signature: str | None = None


Section = Timeliness | Breakdown | Lapses | Workload | Custody | Recommendations | AuditSeal


@dataclass(frozen=True, slots=True)
class Summary:
    scope: Scope
    week: IsoWeek
    as_of: date
    sections: Sequence[Section]

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


def timeliness(
    *, per_rule: dict[str, dict[str, Counts]], week: IsoWeek, weeks: Sequence[str]
) -> Timeliness:
    rules = [rule_timeliness(r, weekly=per_rule[r], weeks=weeks) for r in sorted(per_rule)]
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
