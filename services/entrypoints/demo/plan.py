"""What `followup demo` simulates, and the injected clock it steps (docs/contract.md section 6,
"Added: the demo").

Eight weeks of Thames and Chiltern from the generator (services/simulation), ending on Sunday
30 July 2017: the week HMCPSI published its Area Assurance report on the Area (27 July 2017),
whose issues (record sheets, letters to victims, reviews, disclosure, police files) are what the
weeks show. The Area runs at 6% of its national rate of cases, so the weeks go through
the real pipeline in well under a minute; the rates of late and missed work are the
generator's. Cases registered in the quarter before the first week come first, as history,
so the Area has trials, custody time limits and Crown Court cases under way from the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.rules.calendar import LONDON
from services.simulation import Plan, find_area

AREA = "thames-and-chiltern"
AREA_NAME = "Thames and Chiltern"
LAST_DAY = date(2017, 7, 30)  # Sunday of 2017-W30
AS_OF = date(2017, 8, 4)  # the Friday after: late work of the last week has landed by then
WEEKS, SCALE, SEED = 8, 0.06, 2017
HISTORY = 13  # weeks of cases before the first: the Area under way, its trials and CTLs too
# Each simulated day the clock stands at 09:00:01 (the first digest slot of the working day,
# section 7) for its tick and delivery, then the day's events are published.
MORNING = time(9, 0, 1)


def demo_plan(*, weeks: int = WEEKS, scale: float = SCALE, seed: int = SEED) -> Plan:
    """The demo's weeks, the last ending on LAST_DAY."""
    area = find_area(AREA)
    assert area is not None
    start = LAST_DAY + timedelta(days=1) - timedelta(weeks=weeks)
    return Plan((area,), weeks=weeks, seed=seed, start=start, scale=scale, history=HISTORY)


@dataclass(slots=True)
class DemoClock:
    """The runtime's `today` and `now` (services/platform/runtime.py), stepped by the demo."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.astimezone(LONDON).date()

    def morning_of(self, day: date) -> None:
        self.moment = datetime.combine(day, MORNING, tzinfo=LONDON)

    def at(self, day: date, moment: time) -> None:
        """One second past `moment` on `day`, when what falls due then has fallen due."""
        self.moment = datetime.combine(day, moment, tzinfo=LONDON) + timedelta(seconds=1)


def summary_weekday(name: str) -> int:
    """Monday 0 ... Sunday 6, of FOLLOWUP_SUMMARY_DAY."""
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday").index(
        name
    )


def by_day(
    monday: date, events: list[dict[str, Any]]
) -> Iterator[tuple[date, list[dict[str, Any]]]]:
    """The week's seven days, each with the events of its London date (an event dated before
    the week, such as the staff records of the Friday before, goes with the Monday)."""
    days: dict[date, list[dict[str, Any]]] = {monday + timedelta(n): [] for n in range(7)}
    for event in events:
        day = datetime.fromisoformat(event["time"]).astimezone(LONDON).date()
        days[max(day, monday)].append(event)
    yield from days.items()
