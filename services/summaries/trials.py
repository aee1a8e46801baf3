"""Trials that did not proceed on the day for prosecution reasons: a pure measure of the
`trial-outcome-recorded` events (docs/contract.md, section 9, "Added: trials not proceeding").

Of a hearing's outcomes the latest by `time` stands (ties by source and id, the total order of
every "later event stands"); a duplicate delivery adds nothing. A trial **did not proceed for
prosecution reasons** when it cracked or was ineffective and is attributable to the
prosecution: a trial that cracks because the prosecution offered no evidence on the day did
not proceed on the day either. The rate is those over every trial with an outcome dated
(`trial_date`) in the period, per court type, for an Area and nationally, beside the national
figure of the settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from services.rules.engine import merge_facts
from services.rules.model import Fact
from services.summaries.packs.periods import PackPeriod

EVENT = "trial-outcome-recorded"
COURT_TYPES = ("magistrates", "crown")
DID_NOT_PROCEED = ("cracked", "ineffective")
# The trend a pack shows: the six months, or the four quarters, ending with its period.
TREND = {"monthly": 6, "quarterly": 4}


@dataclass(frozen=True, slots=True)
class Trial:
    """The outcome that stands for one hearing."""

    urn: str
    hearing_id: str
    court_type: str
    outcome: str
    attributable_to: str | None
    trial_date: date
    area: str | None  # the event's own, else the case's; None when neither is known

    @property
    def prosecution_reasons(self) -> bool:
        return self.outcome in DID_NOT_PROCEED and self.attributable_to == "prosecution"


def standing(facts: Iterable[Fact], *, case_areas: Mapping[str, str]) -> list[Trial]:
    """Each hearing's standing outcome, whatever the facts' order or duplicates."""
    latest: dict[tuple[str, str], Fact] = {}
    for fact in merge_facts((), (f for f in facts if f.type == EVENT)):
        latest[(str(fact.data["urn"]), str(fact.data["hearing_id"]))] = fact  # time order
    trials = [_trial(f, case_areas) for f in latest.values()]
    return sorted(trials, key=lambda t: (t.trial_date, t.urn, t.hearing_id))


def _trial(fact: Fact, case_areas: Mapping[str, str]) -> Trial:
    data = fact.data
    urn = str(data["urn"])
    attributable = data.get("attributable_to")
    return Trial(
        urn=urn,
        hearing_id=str(data["hearing_id"]),
        court_type=str(data["court_type"]),
        outcome=str(data["outcome"]),
        attributable_to=str(attributable) if attributable is not None else None,
        trial_date=date.fromisoformat(str(data["trial_date"])[:10]),
        area=str(data.get("area") or case_areas.get(urn) or "") or None,
    )


@dataclass(frozen=True, slots=True)
class Rate:
    """Counts of trials with an outcome; `prosecution` those that did not proceed for
    prosecution reasons, of which `cracked` and `ineffective`; `pct` prosecution / trials in
    per cent, one decimal (None with no trials)."""

    trials: int = 0
    prosecution: int = 0
    cracked: int = 0
    ineffective: int = 0
    pct: float | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        found = round(100 * self.prosecution / self.trials, 1) if self.trials else None
        object.__setattr__(self, "pct", found)


def rate(
    trials: Iterable[Trial],
    *,
    court_type: str,
    first: date,
    last: date,
    area: str | None = None,
) -> Rate:
    """The rate of `court_type` trials dated first..last, of `area` (None: nationally)."""
    counted = [
        t
        for t in trials
        if t.court_type == court_type
        and first <= t.trial_date <= last
        and (area is None or t.area == area)
    ]
    failed = [t for t in counted if t.prosecution_reasons]
    return Rate(
        trials=len(counted),
        prosecution=len(failed),
        cracked=sum(t.outcome == "cracked" for t in failed),
        ineffective=sum(t.outcome == "ineffective" for t in failed),
    )


@dataclass(frozen=True, slots=True)
class CourtLine:
    """One court type: the Area's rate in the period, the rate of every Area Followup holds,
    the national figure of the settings (None: not set), and the Area's trend. `against`: the
    figure the Area is judged by (the setting, else the measured national rate); `gap_pp` the
    Area's rate less it in percentage points (positive is worse); `verdict` in words."""

    court_type: str
    area: Rate
    national_measured: Rate
    national_figure: float | None
    trend: tuple[tuple[str, Rate], ...]
    against: float | None = field(init=False)
    gap_pp: float | None = field(init=False)
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        against = self.national_figure
        if against is None:
            against = self.national_measured.pct
        mine = self.area.pct
        gap = None if mine is None or against is None else round(mine - against, 1)
        if gap is None:
            verdict = "no trials" if self.area.trials == 0 else "no national figure"
        else:
            verdict = "worse than national" if gap > 0 else "better than national"
            verdict = "at national" if gap == 0 else verdict
        object.__setattr__(self, "against", against)
        object.__setattr__(self, "gap_pp", gap)
        object.__setattr__(self, "verdict", verdict)


@dataclass(frozen=True, slots=True)
class TrialsSection:
    """The packs' and the Area page's section: per court type in `period` (a month or a
    quarter), with the trend of the periods ending with it."""

    kind: ClassVar[str] = "trials"
    period: str
    lines: Sequence[CourtLine]


def trend_periods(period: PackPeriod, count: int) -> list[PackPeriod]:
    """`count` periods of the same kind ending with `period`, oldest first."""
    found = [period]
    while len(found) < count:
        found.append(found[-1].previous())
    return found[::-1]


def court_lines(
    trials: Sequence[Trial],
    *,
    area: str,
    period: PackPeriod,
    trend: Sequence[PackPeriod],
    national: Mapping[str, float],
) -> list[CourtLine]:
    """Per court type, the Area's rate in `period` against the national, and its trend."""
    return [
        CourtLine(
            court_type=court,
            area=rate(trials, court_type=court, first=period.start, last=period.end, area=area),
            national_measured=rate(trials, court_type=court, first=period.start, last=period.end),
            national_figure=national.get(court),
            trend=tuple(
                (p.label, rate(trials, court_type=court, first=p.start, last=p.end, area=area))
                for p in trend
            ),
        )
        for court in COURT_TYPES
    ]


def section(
    trials: Sequence[Trial],
    *,
    area: str,
    period: PackPeriod,
    national: Mapping[str, float],
    trend: int,
) -> TrialsSection:
    """The section of `area` for `period`, with a trend of `trend` periods ending with it."""
    lines = court_lines(
        trials, area=area, period=period, trend=trend_periods(period, trend), national=national
    )
    return TrialsSection(period=period.label, lines=lines)
