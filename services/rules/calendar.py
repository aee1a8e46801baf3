"""England and Wales working-day and custody-time-limit arithmetic (contract section 3).

Pure: no clock reads and no I/O. Callers pass in dates (or aware instants for london_date).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import holidays

LONDON = ZoneInfo("Europe/London")

_DAY = timedelta(days=1)
_REMEMBERED = 100_000  # answers kept per calendar (a few MB); all forgotten when it is full


@dataclass(frozen=True)
class Computation:
    result: date
    explanation: str


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _good_friday(year: int) -> date:
    # Anonymous Gregorian Easter algorithm; kept local so reg. 2's explicit Good Friday does
    # not depend on the holiday list (or on python-dateutil, which ships no type stubs).
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    w = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * w) // 451
    month, day = divmod(h + w - 7 * m + 114, 31)
    return date(year, month, day + 1) - 2 * _DAY


class Calendar:
    def __init__(self, extra_holidays: Mapping[date, str] | None = None) -> None:
        self._extra = dict(extra_holidays or {})
        self._holidays_by_year: dict[int, tuple[date, ...]] = {}
        # Each answer is a function of its arguments alone, and the tracker asks the same ones
        # again and again (every event re-derives its track's due dates).
        self._answers: dict[tuple[str, date, int, int], Computation] = {}

    def _remember(self, key: tuple[str, date, int, int], answer: Computation) -> Computation:
        if len(self._answers) >= _REMEMBERED:
            self._answers.clear()
        self._answers[key] = answer
        return answer

    @cached_property
    def _bank_holidays(self) -> holidays.HolidayBase:
        # With no years given the package populates each year on first lookup, so any year
        # works without preloading a century of dates. Made on first use: importing the
        # package costs a tenth of a second that commands not asking about dates need not pay.
        import holidays

        return holidays.country_holidays("GB", subdiv="ENG")

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra:
            return self._extra[day]
        name = self._bank_holidays.get(day)
        return None if name is None else str(name)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday_name(day) is None

    def add_working_days(self, start: date, n: int) -> Computation:
        known = self._answers.get(("working", start, n, 0))
        if known is not None:
            return known
        if n < 0:
            raise ValueError(f"working days to add must not be negative, got {n}")
        day, counted, skipped = start, 0, []
        while counted < n:
            day += _DAY
            if self.is_working_day(day):
                counted += 1
            elif day.weekday() < 5:
                skipped.append(f"{_short(day)} {self.holiday_name(day)}")
        skipping = f", skipping {', '.join(skipped)}" if skipped else ""
        return self._remember(
            ("working", start, n, 0),
            Computation(
                day, f"{start} + {_plural(n, 'working day')}{skipping} = {day.isoformat()}"
            ),
        )

    def working_days_before(self, end: date, n: int) -> date:
        """The working day n working days before `end` (the day a warning is due)."""
        day, counted = end, 0
        while counted < n:
            day -= _DAY
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The working days after `start` up to and including `end` (0 when end <= start):
        how many working days late an obligation due on `start` is on `end`. Counted by whole
        weeks less the weekday holidays between, not day by day: pages count it for hundreds
        of obligations years overdue."""
        if end <= start:
            return 0
        full, rest = divmod((end - start).days, 7)
        tail = start + timedelta(days=full * 7)
        weekdays = full * 5 + sum(
            (tail + timedelta(days=n)).weekday() < 5 for n in range(1, rest + 1)
        )
        holidays = sum(
            start < day <= end
            for year in range(start.year, end.year + 1)
            for day in self._weekday_holidays(year)
        )
        return weekdays - holidays

    def _weekday_holidays(self, year: int) -> tuple[date, ...]:
        found = self._holidays_by_year.get(year)
        if found is None:
            days = {date(year, 1, 1) + timedelta(days=n) for n in range(366)}
            found = tuple(
                sorted(
                    d for d in days if d.year == year and d.weekday() < 5 and self.holiday_name(d)
                )
            )
            self._holidays_by_year[year] = found
        return found

    def add_calendar_days(self, start: date, n: int) -> Computation:
        result = start + timedelta(days=n)
        sign = "-" if n < 0 else "+"
        return Computation(result, f"{start} {sign} {_plural(abs(n), 'calendar day')} = {result}")

    def _ctl_closed_reason(self, day: date) -> str | None:
        """Why reg. 2 does not let a custody time limit end on this day, or None if it may."""
        name = self.holiday_name(day)
        if name is not None:
            return name
        # Reg. 2 names Christmas Day and Good Friday in their own right, so they stay closed
        # even with a holiday list that lacks them.
        if (day.month, day.day) == (12, 25):
            return "Christmas Day"
        if day == _good_friday(day.year):
            return "Good Friday"
        if day.weekday() >= 5:
            return f"{day:%A}"
        return None

    def custody_time_limit_expiry(
        self, start: date, days: int, prior_custody_days: int = 0
    ) -> Computation:
        """Prosecution of Offences (Custody Time Limits) Regulations 1987, reg. 2 and 4.

        Calendar days with the first day not counted; a limit that would end on a Saturday,
        Sunday, Christmas Day, Good Friday or bank holiday ends on the latest earlier day
        that is none of these.
        """
        known = self._answers.get(("custody", start, days, prior_custody_days))
        if known is not None:
            return known
        if days < 0 or prior_custody_days < 0:
            raise ValueError("custody limit and prior custody days must not be negative")
        naive = start + timedelta(days=days - prior_custody_days)
        text = f"custody from {start} + {_plural(days, 'day')}"
        if prior_custody_days:
            text += f" - {_plural(prior_custody_days, 'day')} already in custody"
        text += f" = {naive}"
        day, passed = naive, []
        while (reason := self._ctl_closed_reason(day)) is not None:
            passed.append(f"{_short(day)} {reason}")
            day -= _DAY
        if passed:
            text += f" ({self._ctl_closed_reason(naive)}), rolled back past {', '.join(passed)}"
            text += f" = {day}"
        return self._remember(("custody", start, days, prior_custody_days), Computation(day, text))

    def london_date(self, instant: datetime) -> date:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"instant must be timezone-aware, got naive {instant.isoformat()}")
        return instant.astimezone(LONDON).date()
