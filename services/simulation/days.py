"""Working days, timestamps and the on-time/late/never draw the generator's stories share.

The calendar is the rules engine's (docs/contract.md section 3), so "on time" here is on time
to the lapse clock.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from functools import lru_cache

from services.rules.calendar import LONDON, Calendar
from services.simulation.rates import Timeliness

CALENDAR = Calendar()


# Days and the working-day sums are asked for millions of times in a national run: cached.
@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    return CALENDAR.is_working_day(day)


@lru_cache(maxsize=65536)
def working(day: date, n: int = 0) -> date:
    """The n-th working day after `day`; with n 0, `day` itself or the next working day."""
    if n == 0:
        while not is_working_day(day):
            day += timedelta(1)
        return day
    return CALENDAR.add_working_days(day, n).result


@lru_cache(maxsize=65536)
def before(day: date, n: int) -> date:
    """The n-th working day before `day`."""
    return CALENDAR.working_days_before(day, n)


@lru_cache(maxsize=65536)
def working_days_between(start: date, end: date) -> int:
    return CALENDAR.working_days_between(start, end)


def at(rng: random.Random, day: date, first_hour: int = 9, last_hour: int = 17) -> datetime:
    """A moment of office hours on `day` (from `first_hour` to the end of `last_hour`), London
    time."""
    second = first_hour * 3600 + int(rng.random() * (last_hour + 1 - first_hour) * 3600)
    hour, rest = divmod(second, 3600)
    return datetime(day.year, day.month, day.day, hour, *divmod(rest, 60), tzinfo=LONDON)


def fate(rng: random.Random, rate: Timeliness) -> str:
    """`on-time`, `late` or `never`, in the rate's proportions."""
    draw = rng.random()
    if draw < rate.on_time:
        return "on-time"
    return "late" if draw < rate.on_time + rate.late else "never"


def done_on(rng: random.Random, rate: Timeliness, start: date, due: date) -> date | None:
    """When work owed from `start` and due on `due` is done, or None if it never is: on time
    any working day from `start` to `due`, late mostly within a week of the deadline."""
    outcome = fate(rng, rate)
    if outcome == "never":
        return None
    if outcome == "on-time":
        first = working(max(start, due - timedelta(30)))
        span = working_days_between(first, due)
        return working(first, rng.randint(0, span)) if span else min(first, due)
    return working(due, rng.choice((1, 1, 2, 2, 3, 4, 5, 7, 10, 15)))
