"""Calendar months and quarters as the packs name them (`2017-08`, `2017-Q3`), and when a
period's pack is due: the Nth working day after the period ends, at a set London time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.rules.calendar import LONDON, Calendar
from services.rules.periods import Period, period_of

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
KINDS = {"monthly": "month", "quarterly": "quarter"}


@dataclass(frozen=True, slots=True, order=True)
class PackPeriod:
    """A calendar month (`every` "monthly") or quarter ("quarterly")."""

    start: date
    end: date
    label: str
    every: str

    @classmethod
    def of(cls, day: date, every: str) -> PackPeriod:
        found: Period = period_of(day, every)
        return cls(found.start, found.end, found.label, every)

    @classmethod
    def parse(cls, text: str) -> PackPeriod:
        """`2017-08` (a month) or `2017-Q3` (a quarter); anything else is refused."""
        text = text.strip()
        if month := _MONTH.match(text):
            year, number = int(month[1]), int(month[2])
            if not 1 <= number <= 12:
                raise ValueError(f"a month is 01 to 12, not {month[2]} in {text!r}")
            return cls.of(date(year, number, 1), "monthly")
        if quarter := _QUARTER.match(text):
            return cls.of(date(int(quarter[1]), 3 * int(quarter[2]) - 2, 1), "quarterly")
        raise ValueError(
            f"a month is written YYYY-MM (e.g. 2017-08) and a quarter YYYY-Qn (e.g. 2017-Q3),"
            f" not {text!r}"
        )

    @property
    def noun(self) -> str:
        return KINDS[self.every]

    def previous(self) -> PackPeriod:
        return PackPeriod.of(self.start - timedelta(days=1), self.every)

    def following(self) -> PackPeriod:
        return PackPeriod.of(self.end + timedelta(days=1), self.every)

    def months(self) -> list[PackPeriod]:
        """The calendar months of the period, in order (one for a month)."""
        found, day = [], self.start
        while day <= self.end:
            month = PackPeriod.of(day, "monthly")
            found.append(month)
            day = month.end + timedelta(days=1)
        return found

    def judged_on(self, today: date) -> date:
        """The default as-of date: a past period as of its last day, the current one today."""
        return min(self.end, today)

    def moment(self, *, calendar: Calendar, working_day: int, at: time) -> datetime:
        """When the period's pack is due: the `working_day`th working day (England and
        Wales) after its last day, at `at` in London."""
        day, counted = self.end, 0
        while counted < working_day:
            day += timedelta(days=1)
            counted += calendar.is_working_day(day)
        return datetime.combine(day, at, tzinfo=LONDON)

    def __str__(self) -> str:
        return self.label
