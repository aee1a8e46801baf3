"""ISO weeks (Monday to Sunday, Europe/London) and the moment a week's summary is due."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.rules.calendar import LONDON

_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError as error:
            raise ValueError(f"{self.year} has no ISO week {self.week}") from error

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """`2017-W30`; anything else is refused with the form expected."""
        found = _PATTERN.match(text.strip())
        if not found:
            raise ValueError(f"a week is written YYYY-Www (e.g. 2017-W30), not {text!r}")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def previous(self) -> IsoWeek:
        return self.shifted(-1)

    def window(self, weeks: int) -> list[IsoWeek]:
        """The `weeks` weeks ending with this one, oldest first."""
        return [self.shifted(-n) for n in range(weeks - 1, -1, -1)]

    def moment(self, weekday: str, at: time) -> datetime:
        """The London instant of `weekday` at `at` in this week (when its summary is due)."""
        day = self.monday + timedelta(days=WEEKDAYS.index(weekday))
        return datetime.combine(day, at, tzinfo=LONDON)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
