"""The packs' figures as plain data, computed by pure functions from the obligations read
(docs/contract.md section 9, "Added: monthly and quarterly packs"). No I/O, no clock: the
as-of date is passed in.

Every count is a `Counts` of the obligations due in a period (cancelled ones excluded),
judged at the as-of date exactly as the weekly summary judges them: met, late (met late),
lapsed (open past due) and open (not yet due).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import ClassVar

from services.summaries.model import AuditSeal, Counts, Recommendations
from services.summaries.packs.iqa_section import IqaSection
from services.summaries.packs.periods import PackPeriod
from services.summaries.trials import TrialsSection

VICTIM_LETTER = "victim-letter"
CASE_REVIEW = "case-review"
REASON_CODE = "finalisation-reason-code"
ASSURANCE = "assurance-sample"
CUSTODY = "custody-time-limit"
CUSTODY_REVIEW = "ctl-28-day-review"
PACK_RULES = (VICTIM_LETTER, CASE_REVIEW, REASON_CODE, ASSURANCE, CUSTODY, CUSTODY_REVIEW)
DECISIONS = ("no-charge", "discontinued", "charge-altered")
STAGES = ("magistrates-first-hearing", "crown-ptph", "magistrates-trial", "crown-trial")
# A custody time limit met this close to its expiry (calendar days) is a near miss.
NEAR_MISS_DAYS = 2


@dataclass(frozen=True, slots=True)
class Item:
    """One obligation as the packs read it: its case's unit, its owner's legal manager
    (`team`) and, for a victim letter, the decision and whether the victim is enhanced (from
    the `victim-letter-due` event that opened it)."""

    id: str
    rule: str
    key: str
    due: date
    state: str  # stored: open, met, met-late
    urn: str | None = None
    owner: str | None = None
    unit: str | None = None
    team: str | None = None
    closed_on: date | None = None
    decision: str | None = None
    enhanced: bool | None = None
    opened_by: str | None = None  # the id of the event that opened it

    def judged(self, as_of: date) -> str:
        """met, late, lapsed or open at the as-of date."""
        if self.state == "met":
            return "met"
        if self.state == "met-late":
            return "late"
        return "lapsed" if self.due < as_of else "open"


def counts_of(items: Iterable[Item], as_of: date) -> Counts:
    buckets = {"met": 0, "late": 0, "lapsed": 0, "open": 0}
    for item in items:
        buckets[item.judged(as_of)] += 1
    return Counts.of(**buckets)


def in_period(items: Iterable[Item], period: PackPeriod, *rules: str) -> list[Item]:
    return [i for i in items if i.rule in rules and period.start <= i.due <= period.end]


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a comparison: the period's counts and the previous period's."""

    key: str | None  # team manager, decision, unit...; None: unknown / no team
    label: str
    current: Counts
    previous: Counts
    change_points: float | None = field(init=False)  # on-time rate change, percentage points

    def __post_init__(self) -> None:
        now, before = self.current.on_time_pct, self.previous.on_time_pct
        change = None if now is None or before is None else round(now - before, 1)
        object.__setattr__(self, "change_points", change)


def rows_by(
    current: Sequence[Item],
    previous: Sequence[Item],
    *,
    key: Callable[[Item], str | None],
    label: Callable[[str | None], str],
    as_of: date,
    order: Sequence[str | None] = (),
) -> list[Row]:
    """One row per key found in either period (those of `order` first, always, in that
    order; then the rest sorted, unknown last)."""
    keys: list[str | None] = list(order)
    found = {key(i) for i in [*current, *previous]}
    keys += sorted(k for k in found if k is not None and k not in keys)
    if None in found and None not in keys:
        keys.append(None)
    return [
        Row(
            k,
            label(k),
            counts_of((i for i in current if key(i) == k), as_of),
            counts_of((i for i in previous if key(i) == k), as_of),
        )
        for k in keys
    ]


def total_row(current: Sequence[Item], previous: Sequence[Item], as_of: date) -> Row:
    return Row("all", "all", counts_of(current, as_of), counts_of(previous, as_of))


# --- the monthly pack ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VictimLetters:
    """The monthly VCL analysis: victim-letter obligations due in the month. Late letters are
    those sent after their due date (`late`), missing ones are not sent and past due
    (`lapsed`)."""

    kind: ClassVar[str] = "victim-letters"
    by_team: Sequence[Row]
    by_decision: Sequence[Row]
    by_victim: Sequence[Row]  # enhanced, standard
    total: Row


def victim_letters(
    items: Sequence[Item],
    *,
    month: PackPeriod,
    as_of: date,
    teams: Mapping[str, str],
) -> VictimLetters:
    current = in_period(items, month, VICTIM_LETTER)
    previous = in_period(items, month.previous(), VICTIM_LETTER)

    def victim(item: Item) -> str | None:
        return None if item.enhanced is None else "enhanced" if item.enhanced else "standard"

    return VictimLetters(
        by_team=rows_by(
            current, previous, key=lambda i: i.team, label=_team_label(teams), as_of=as_of
        ),
        by_decision=rows_by(
            current,
            previous,
            key=lambda i: i.decision,
            label=lambda k: k or "decision not known",
            as_of=as_of,
            order=DECISIONS,
        ),
        by_victim=rows_by(
            current,
            previous,
            key=victim,
            label=lambda k: k or "not known",
            as_of=as_of,
            order=("enhanced", "standard"),
        ),
        total=total_row(current, previous, as_of),
    )


def _team_label(teams: Mapping[str, str]) -> Callable[[str | None], str]:
    def label(key: str | None) -> str:
        if key is None:
            return "no team"
        name = teams.get(key)
        return f"{name} ({key})" if name else key

    return label


def stage_of(item: Item) -> str | None:
    """A case review's stage: the last part of its id (`case-review/URN/STAGE`)."""
    stage = item.id.rsplit("/", 1)[-1]
    return stage if stage in STAGES else None


def court_of(item: Item) -> str | None:
    stage = stage_of(item)
    return stage.split("-", 1)[0] if stage else None


@dataclass(frozen=True, slots=True)
class Reviews:
    """Case review timeliness (rule `case-review`) by court type and stage."""

    kind: ClassVar[str] = "reviews"
    by_court: Sequence[Row]
    by_stage: Sequence[Row]
    by_unit: Sequence[Row]
    total: Row


def reviews(items: Sequence[Item], *, month: PackPeriod, as_of: date) -> Reviews:
    current = in_period(items, month, CASE_REVIEW)
    previous = in_period(items, month.previous(), CASE_REVIEW)
    return Reviews(
        by_court=rows_by(
            current,
            previous,
            key=court_of,
            label=lambda k: k or "stage not known",
            as_of=as_of,
            order=("magistrates", "crown"),
        ),
        by_stage=rows_by(
            current,
            previous,
            key=stage_of,
            label=lambda k: k or "stage not known",
            as_of=as_of,
            order=STAGES,
        ),
        by_unit=_by_unit(current, previous, as_of),
        total=total_row(current, previous, as_of),
    )


def _by_unit(current: Sequence[Item], previous: Sequence[Item], as_of: date) -> list[Row]:
    return rows_by(
        current, previous, key=lambda i: i.unit, label=lambda k: k or "no unit", as_of=as_of
    )


@dataclass(frozen=True, slots=True)
class DataQuality:
    """Finalisation data quality (rule `finalisation-reason-code`): each obligation is an
    unsuccessful finalisation recorded without its reason code (`due`: missing codes falling
    due in the period); `met` + `late` were corrected (on time, late), `lapsed` are still
    missing past due, `open` still missing and not yet due."""

    kind: ClassVar[str] = "data-quality"
    by_unit: Sequence[Row]
    total: Row


def data_quality(items: Sequence[Item], *, month: PackPeriod, as_of: date) -> DataQuality:
    current = in_period(items, month, REASON_CODE)
    previous = in_period(items, month.previous(), REASON_CODE)
    return DataQuality(
        by_unit=_by_unit(current, previous, as_of), total=total_row(current, previous, as_of)
    )


@dataclass(frozen=True, slots=True)
class ManagerChecks:
    manager: str
    name: str | None
    checks_recorded: int  # finalisation checks the manager recorded in the month
    sampled: Counts  # sampled checks (rule assurance-sample) due in the month
    previous: Counts  # those due in the previous month


@dataclass(frozen=True, slots=True)
class AssuranceChecks:
    """The 10% check completion per manager whose checks were sampled (the first part of
    the rule's key `MANAGER/YYYY-MM`). A month's checks are drawn after it ends and fall due
    in the next month: `sampled` counts the second checks due in this month."""

    kind: ClassVar[str] = "assurance"
    managers: Sequence[ManagerChecks]
    total: ManagerChecks


def checked_manager(item: Item) -> str:
    return item.key.split("/", 1)[0]


def assurance(
    items: Sequence[Item],
    *,
    month: PackPeriod,
    as_of: date,
    checks: Mapping[str, int],
    names: Mapping[str, str],
) -> AssuranceChecks:
    current = in_period(items, month, ASSURANCE)
    previous = in_period(items, month.previous(), ASSURANCE)
    managers = sorted(
        {checked_manager(i) for i in [*current, *previous]} | {m for m, n in checks.items() if n}
    )
    rows = [
        ManagerChecks(
            manager=m,
            name=names.get(m),
            checks_recorded=checks.get(m, 0),
            sampled=counts_of((i for i in current if checked_manager(i) == m), as_of),
            previous=counts_of((i for i in previous if checked_manager(i) == m), as_of),
        )
        for m in managers
    ]
    return AssuranceChecks(
        managers=rows,
        total=ManagerChecks(
            manager="all",
            name=None,
            checks_recorded=sum(r.checks_recorded for r in rows),
            sampled=counts_of(current, as_of),
            previous=counts_of(previous, as_of),
        ),
    )


@dataclass(frozen=True, slots=True)
class CustodyEvent:
    obligation_id: str
    rule: str
    urn: str | None
    owner: str | None
    due: date
    closed_on: date | None
    outcome: str  # failure: late / lapsed; near miss: the reason


@dataclass(frozen=True, slots=True)
class CustodyLimits:
    """Custody time limits expiring in the month. A **failure** (lapse) is a limit met late
    (ended after its expiry) or still open past it. A **near miss** is a limit met on time
    but within NEAR_MISS_DAYS calendar days of its expiry, or a 28-day review
    (`ctl-28-day-review`) due in the month that was done late or is still not done past due
    while its limit did not fail."""

    kind: ClassVar[str] = "custody"
    near_miss_days: int
    limits: Row
    reviews: Row
    failures: Sequence[CustodyEvent]
    near_misses: Sequence[CustodyEvent]


def custody(items: Sequence[Item], *, month: PackPeriod, as_of: date) -> CustodyLimits:
    limits = in_period(items, month, CUSTODY)
    checks = in_period(items, month, CUSTODY_REVIEW)
    before = month.previous()
    failures, near = [], []
    failed_keys = set()
    for item in sorted(limits, key=lambda i: (i.due, i.id)):
        state = item.judged(as_of)
        if state in ("late", "lapsed"):
            failed_keys.add(item.key)
            failures.append(_custody_event(item, state))
        elif (
            state == "met"
            and item.closed_on is not None
            and item.due - item.closed_on <= timedelta(days=NEAR_MISS_DAYS)
        ):
            days = (item.due - item.closed_on).days
            near.append(_custody_event(item, f"ended {days} day(s) before expiry"))
    for item in sorted(checks, key=lambda i: (i.due, i.id)):
        state = item.judged(as_of)
        if state in ("late", "lapsed") and item.key not in failed_keys:
            word = "done late" if state == "late" else "not done, past due"
            near.append(_custody_event(item, f"28-day review {word}"))
    return CustodyLimits(
        near_miss_days=NEAR_MISS_DAYS,
        limits=Row(
            "custody-time-limit",
            "custody time limits",
            counts_of(limits, as_of),
            counts_of(in_period(items, before, CUSTODY), as_of),
        ),
        reviews=Row(
            "ctl-28-day-review",
            "28-day reviews",
            counts_of(checks, as_of),
            counts_of(in_period(items, before, CUSTODY_REVIEW), as_of),
        ),
        failures=failures,
        near_misses=sorted(near, key=lambda e: (e.due, e.obligation_id)),
    )


def _custody_event(item: Item, outcome: str) -> CustodyEvent:
    return CustodyEvent(item.id, item.rule, item.urn, item.owner, item.due, item.closed_on, outcome)


@dataclass(frozen=True, slots=True)
class ActionTaken:
    on: date  # the event's own date (its `*_date` field, else its time in London)
    entity: str  # inspection, recommendation, action
    entity_id: str
    action: str
    actor: str
    event_type: str


@dataclass(frozen=True, slots=True)
class Actions:
    """Inspection follow-up recorded on the audit trail whose event is dated in the month."""

    kind: ClassVar[str] = "actions"
    items: Sequence[ActionTaken]


# --- the quarterly pack -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """One unit's (or the Area's) counts in each month of the quarter, the quarter and the
    previous quarter."""

    key: str | None
    label: str
    months: Sequence[Counts]
    quarter: Counts
    previous: Counts
    change_points: float | None = field(init=False)

    def __post_init__(self) -> None:
        now, before = self.quarter.on_time_pct, self.previous.on_time_pct
        change = None if now is None or before is None else round(now - before, 1)
        object.__setattr__(self, "change_points", change)


@dataclass(frozen=True, slots=True)
class Compliance:
    """Per unit and for the Area: one rule's counts through the quarter. `measure`
    `data-quality` is `finalisation-reason-code`, `assurance` is `assurance-sample`."""

    kind: ClassVar[str] = "compliance"
    measure: str
    rule: str
    months: Sequence[str]  # labels of the quarter's months
    previous: str  # the previous quarter's label
    units: Sequence[Trend]
    area: Trend
    checks_recorded: Sequence[int] = ()  # assurance: finalisation checks recorded per month


def compliance(
    items: Sequence[Item],
    *,
    measure: str,
    rule: str,
    quarter: PackPeriod,
    as_of: date,
    checks_recorded: Sequence[int] = (),
) -> Compliance:
    months = quarter.months()
    current = in_period(items, quarter, rule)
    previous = in_period(items, quarter.previous(), rule)
    units = sorted({i.unit for i in [*current, *previous] if i.unit is not None})
    keys: list[str | None] = [*units]
    if any(i.unit is None for i in [*current, *previous]):
        keys.append(None)

    def trend(key: str | None, label: str, mine: Callable[[Item], bool]) -> Trend:
        return Trend(
            key,
            label,
            [counts_of((i for i in in_period(current, m, rule) if mine(i)), as_of) for m in months],
            counts_of((i for i in current if mine(i)), as_of),
            counts_of((i for i in previous if mine(i)), as_of),
        )

    return Compliance(
        measure=measure,
        rule=rule,
        months=[m.label for m in months],
        previous=quarter.previous().label,
        units=[trend(k, k or "no unit", _unit_is(k)) for k in keys],
        area=trend("all", "Area", lambda _: True),
        checks_recorded=list(checks_recorded),
    )


# --- added: police file quality and the Disclosure Record Sheet (contract section 9) --------

FILE_FEEDBACK = "file-quality-feedback"
DISCLOSURE = "disclosure-record"


@dataclass(frozen=True, slots=True)
class FileRow:
    """Police files assessed against the National File Standard, for one force or Area: files
    (each `file_id` once, its latest assessment standing), how many met the standard and the
    share in per cent to one decimal (None without files), failings by kind (every kind of the
    vocabulary, in its order), and the feedback obligations (`file-quality-feedback`) judged
    met, late, lapsed or open."""

    key: str | None
    label: str
    files: int
    met_standard: int
    share_met_pct: float | None
    failings: Mapping[str, int]
    feedback: Counts


@dataclass(frozen=True, slots=True)
class FileQuality:
    """Police file quality in the period: per force, and the Area in all."""

    kind: ClassVar[str] = "file-quality"
    by_force: Sequence[FileRow]
    total: FileRow


@dataclass(frozen=True, slots=True)
class DisclosureRecords:
    """Disclosure decisions recorded on the Disclosure Record Sheet (rule
    `disclosure-record`) per team, against the previous period."""

    kind: ClassVar[str] = "disclosure-records"
    by_team: Sequence[Row]
    total: Row


Section = (
    VictimLetters
    | Reviews
    | DataQuality
    | AssuranceChecks
    | CustodyLimits
    | Recommendations
    | Actions
    | Compliance
    | TrialsSection
    | AuditSeal
    | FileQuality
    | DisclosureRecords
    | IqaSection  # Added: IQA (docs/contract.md section 9)
)


def _unit_is(unit: str | None) -> Callable[[Item], bool]:
    return lambda item: item.unit == unit


# --- the pack -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pack:
    """`kind` monthly (the monthly performance review pack) or quarterly (the Area
    Performance Review pack) of one Area."""

    kind: str
    area: str
    period: PackPeriod
    previous: PackPeriod
    as_of: date
    sections: Sequence[Section]

    @property
    def title(self) -> str:
        if self.kind == "monthly":
            return f"Monthly performance review {self.period}: Area {self.area}"
        return f"Area Performance Review {self.period}: Area {self.area}"

    def section(self, kind: str) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)
