"""Week by week, the events of one Area or of the whole CPS, in the order they happened.

Each week's cases are generated whole when they are registered (each from its own random
generator, seeded by the run's seed, the Area and the URN) and their events wait in the week
they fall in; a week is handed out, sorted by time, once every case that can touch it has been
generated. Events after the last simulated week have not happened yet and are left out. The
same plan always gives the same events, and a longer run starts with the shorter one's cases.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.simulation import rates
from services.simulation.areas import AREAS, Area, cases_per_week
from services.simulation.assurance import inspection, iqas, month_end, sampled_checks
from services.simulation.casework import case_story
from services.simulation.days import at, is_working_day, working
from services.simulation.duties import complaint
from services.simulation.record import Raw, Recorder, envelope
from services.simulation.staff import build_staff, units_of

DEFAULT_START = date(2025, 1, 6)  # a Monday: the default output never depends on the day run
MAX_WEEKS = 520
MAX_HISTORY = 104


@dataclass(frozen=True, slots=True)
class Plan:
    """What to simulate (docs/contract.md section 6, "Added: followup generate")."""

    areas: tuple[Area, ...]
    weeks: int
    seed: int = 1
    start: date = DEFAULT_START
    scale: float = 1.0  # times the national rate of cases
    duplicates: float = 0.0  # share of events resent (same source and id, same bytes)
    # Weeks of cases registered before `start`, so the Area starts with its cases under way;
    # their events up to `start` come first, as history (in the first week's output).
    history: int = 0

    def problems(self) -> list[str]:
        """What is wrong with the plan, each naming the option; empty when it is good."""
        found = []
        if not self.areas:
            found.append("--area: name an Area, or give --national")
        if not 1 <= self.weeks <= MAX_WEEKS:
            found.append(f"--weeks must be from 1 to {MAX_WEEKS}, not {self.weeks}")
        if self.start.weekday() != 0:
            found.append(f"--start must be a Monday, not a {self.start:%A} ({self.start})")
        if not 0 < self.scale <= 10:
            found.append(f"--scale must be above 0 and at most 10, not {self.scale}")
        if not 0 <= self.duplicates <= 0.5:
            found.append(f"--duplicates must be from 0 to 0.5, not {self.duplicates}")
        if not 0 <= self.history <= MAX_HISTORY:
            found.append(f"--history must be from 0 to {MAX_HISTORY} weeks, not {self.history}")
        return found

    @property
    def end(self) -> date:
        """The first day not simulated."""
        return self.start + timedelta(weeks=self.weeks)


def national(**options: Any) -> Plan:
    return Plan(areas=AREAS, **options)


def weeks_of(plan: Plan) -> Iterator[list[dict[str, Any]]]:
    """Each simulated week's events as CloudEvent dicts, in time order."""
    if problems := plan.problems():
        raise ValueError("; ".join(problems))
    waiting: dict[int, list[Raw]] = {}
    sims = [_Area(plan, area) for area in plan.areas]
    for week in range(-plan.history, plan.weeks):

        def keep(events: list[Raw], now: int = week) -> None:
            for raw in events:
                index = (raw[0].date() - plan.start).days // 7
                if index < plan.weeks:
                    waiting.setdefault(max(index, now, 0), []).append(raw)

        for sim in sims:
            sim.week(week, keep)
        if week < 0:
            continue  # history: handed out with the first week
        due = sorted(waiting.pop(week, []), key=lambda raw: (raw[0], raw[1], raw[2]))
        events = [envelope(raw) for raw in due]
        if plan.duplicates:
            events = _resend(events, random.Random(f"{plan.seed}:resent:{week}"), plan.duplicates)
        yield events


def lines_of(plan: Plan) -> Iterator[str]:
    """The JSON Lines text, one event a line (without the line end)."""
    for events in weeks_of(plan):
        for event in events:
            yield to_line(event)


def to_line(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"))


def _resend(events: list[dict[str, Any]], rng: random.Random, share: float) -> list[dict[str, Any]]:
    """Some events sent again later in the week, as a producer retrying would."""
    keyed = [(float(n), event) for n, event in enumerate(events)]
    for n, event in enumerate(events):
        if rng.random() < share:
            keyed.append((rng.uniform(n + 1, len(events) + 1), event))
    keyed.sort(key=lambda pair: pair[0])
    return [event for _, event in keyed]


class _Area:
    """One Area's generators and what its monthly stories need to remember."""

    def __init__(self, plan: Plan, area: Area) -> None:
        self.plan, self.area = plan, area
        self.rng = random.Random(f"{plan.seed}:{area.slug}")
        self.per_week = cases_per_week(area, scale=plan.scale)
        shares = {"charging": 1.0} if area.direct else dict(rates.UNITS)
        by_unit = {unit: self.per_week * shares[unit] for unit in units_of(area)}
        self.staff = build_staff(area, by_unit, self.rng)
        self.source = f"/cms/{area.slug}"
        self.serials: dict[int, int] = {}
        self.teams: dict[str, deque[tuple[str, str]]] = {}
        self.checks: dict[date, dict[str, list[tuple[str, date]]]] = {}
        self.inspections = self._inspection_weeks()

    def _inspection_weeks(self) -> dict[int, int]:
        """Week index -> inspection number: rates.INSPECTIONS_A_YEAR in each 52 weeks (or in
        a shorter run, once within it)."""
        found: dict[int, int] = {}
        for block in range(0, self.plan.weeks, 52):
            span = min(52, self.plan.weeks - block)
            for _ in range(rates.INSPECTIONS_A_YEAR):
                found[block + self.rng.randrange(span)] = len(found) + 1
        return found

    def week(self, week: int, keep: Any) -> None:
        monday = self.plan.start + timedelta(weeks=week)
        days = [d for d in (monday + timedelta(n) for n in range(5)) if is_working_day(d)]
        first = week == -self.plan.history
        if first:
            keep(self._staff(monday))
        elif self.rng.random() < 0.25:
            keep(self._move(monday, week))
        for day in self._case_days(days):
            keep(self._case(day))
        keep(self._complaints(week, days))
        for day in [monday] if first else [d for d in _week(monday) if d.day == 1]:
            keep(self._iqas(day))
        for month in sorted(m for m in self.checks if month_end(m) <= monday + timedelta(6)):
            rec = Recorder(self.source, f"sample-{month:%Y-%m}")
            sampled_checks(
                rng=self.rng, staff=self.staff, rec=rec, month=month, checks=self.checks.pop(month)
            )
            keep(rec.events)
        if week in self.inspections and days:
            published = self.rng.choice(days)
            keep(
                inspection(
                    rng=self.rng,
                    area=self.area,
                    staff=self.staff,
                    published=published,
                    number=self.inspections[week],
                ).events
            )

    def _staff(self, monday: date) -> list[Raw]:
        rec = Recorder(self.source, "staff")
        when = at(self.rng, monday - timedelta(3), 7, 8)
        for person in self.staff.people:
            rec.add(when, "staff-updated", **self.staff.data(person))
        return rec.events

    def _move(self, monday: date, week: int) -> list[Raw]:
        """A prosecutor moves to another legal manager's team in the same unit."""
        unit = self.rng.choice(units_of(self.area))
        lawyers, managers = (self.staff.having(r, unit) for r in ("prosecutor", "legal-manager"))
        who = self.rng.choice(lawyers)
        others = [m for m in managers if m != self.staff.manager_of(who)]
        if not others:
            return []
        moved = self.staff.move(who, self.rng.choice(others))
        rec = Recorder(self.source, f"staff-w{week}" if week >= 0 else f"staff-h{-week}")
        rec.add(at(self.rng, monday, 8, 9), "staff-updated", **self.staff.data(moved))
        return rec.events

    def _case_days(self, days: list[date]) -> list[date]:
        if not days:
            return []
        whole = int(self.per_week)
        count = whole + (self.rng.random() < self.per_week - whole)
        return [days[n * len(days) // count] for n in range(count)] if count else []

    def _case(self, day: date) -> list[Raw]:
        year = day.year % 100
        self.serials[year] = serial = self.serials.get(year, 0) + 1
        urn = f"{self.area.code}{self.area.letters}{serial:05d}{year:02d}"
        rng = random.Random(f"{self.plan.seed}:{self.area.slug}:{urn}")
        events, facts = case_story(
            rng=rng, area=self.area, staff=self.staff, urn=urn, registered=day
        )
        if facts.manager is not None:
            self.teams.setdefault(facts.manager, deque(maxlen=20)).append((urn, facts.owner))
        for manager, checked in facts.checks:
            month = checked.replace(day=1)
            self.checks.setdefault(month, {}).setdefault(manager, []).append((urn, checked))
        return events

    def _complaints(self, week: int, days: list[date]) -> list[Raw]:
        """Complaints that name no case: about four in ten of all complaints [A]."""
        expected = self.per_week * rates.COMPLAINT_PER_CASE * 0.4
        count = int(expected) + (self.rng.random() < expected - int(expected))
        found: list[Raw] = []
        for n in range(1, count + 1 if days else 1):
            when = f"{week:03d}" if week >= 0 else f"h{-week:03d}"
            complaint_id = f"CMP-{self.area.letters}-{when}-{n}"
            rec = Recorder(self.source, complaint_id)
            complaint(self.rng, rec, self.area, complaint_id, self.rng.choice(days))
            found.extend(rec.events)
        return found

    def _iqas(self, first: date) -> list[Raw]:
        month = first.replace(day=1)
        rec = Recorder(self.source, f"iqa-{month:%Y-%m}")
        teams = {manager: list(cases) for manager, cases in self.teams.items()}
        iqas(
            rng=self.rng,
            area=self.area,
            staff=self.staff,
            rec=rec,
            month=month,
            first_day=working(first),
            teams=teams,
        )
        return rec.events


def _week(monday: date) -> list[date]:
    return [monday + timedelta(n) for n in range(7)]
