"""Due expressions of a rule pack, each able to compute and explain a due date from event data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.rules.calendar import Calendar, Computation

CUSTODY_LIMIT_DAYS = {"summary-56": 56, "either-way-70": 70, "crown-182": 182}
# Fields of custody-time-limit-set that the expiry is computed from.
CUSTODY_FIELDS = ("limit", "custody_start", "prior_custody_days", "expires_on")


@dataclass(frozen=True, slots=True)
class WorkingDaysAfter:
    days: int
    after: str

    def __str__(self) -> str:
        return f"+{self.days} working day{'' if self.days == 1 else 's'} after {self.after}"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.after,)

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        start = date.fromisoformat(data[self.after])
        worked = calendar.add_working_days(start, self.days)
        return Computation(worked.result, f"{self.after} {worked.explanation}")


@dataclass(frozen=True, slots=True)
class WorkingDaysBefore:
    """The N-th working day strictly before a date field (a review due before a hearing)."""

    days: int
    before: str

    def __str__(self) -> str:
        return f"-{self.days} working day{'' if self.days == 1 else 's'} before {self.before}"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.before,)

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        end = date.fromisoformat(data[self.before])
        day = calendar.working_days_before(end, self.days)
        unit = "working day" if self.days == 1 else "working days"
        return Computation(day, f"{self.before} {end} - {self.days} {unit} = {day.isoformat()}")


@dataclass(frozen=True, slots=True)
class WorkingDaysAfterMonthEnd:
    """+N working days after the last day of the month holding a date field."""

    days: int
    field: str

    def __str__(self) -> str:
        plural = "" if self.days == 1 else "s"
        return f"+{self.days} working day{plural} after end of month of {self.field}"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        day = date.fromisoformat(data[self.field])
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        month_end = following - timedelta(days=1)
        worked = calendar.add_working_days(month_end, self.days)
        return Computation(worked.result, f"end of month of {self.field}: {worked.explanation}")


@dataclass(frozen=True, slots=True)
class CalendarDaysAfter:
    days: int
    after: str

    def __str__(self) -> str:
        return f"+{self.days} calendar day{'' if self.days == 1 else 's'} after {self.after}"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.after,)

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        start = date.fromisoformat(data[self.after])
        counted = calendar.add_calendar_days(start, self.days)
        return Computation(counted.result, f"{self.after} {counted.explanation}")


@dataclass(frozen=True, slots=True)
class AsGiven:
    field: str

    def __str__(self) -> str:
        return f"{self.field} as is"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        day = date.fromisoformat(data[self.field])
        return Computation(day, f"{self.field} {day} as given")


@dataclass(frozen=True, slots=True)
class CustodyExpiry:
    """Contract section 3: calendar days from custody_start, rolled back off closed days;
    `expires_on` wins when the case management system states it."""

    days_before: int = 0

    def __str__(self) -> str:
        return "custody-time-limit expiry" + (
            f" - {self.days_before} days" if self.days_before else ""
        )

    @property
    def fields(self) -> tuple[str, ...]:
        return CUSTODY_FIELDS

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        expiry = custody_expiry(data, calendar)
        if not self.days_before:
            return expiry
        earlier = calendar.add_calendar_days(expiry.result, -self.days_before)
        return Computation(earlier.result, f"{expiry.explanation}; {earlier.explanation}")


@dataclass(frozen=True, slots=True)
class PeriodEnd:
    """The last day of each recurrence period; the engine walks the periods itself."""

    def __str__(self) -> str:
        return "end of recurrence period"

    @property
    def fields(self) -> tuple[str, ...]:
        return ()

    def compute(self, data: Mapping[str, Any], calendar: Calendar) -> Computation:
        raise TypeError("a recurring rule's due dates are computed per period")


Due = (
    WorkingDaysAfter
    | WorkingDaysBefore
    | WorkingDaysAfterMonthEnd
    | CalendarDaysAfter
    | AsGiven
    | CustodyExpiry
    | PeriodEnd
)


def custody_expiry(data: Mapping[str, Any], calendar: Calendar) -> Computation:
    if data.get("expires_on"):
        day = date.fromisoformat(data["expires_on"])
        return Computation(day, f"expires_on {day} as given")
    limit = data["limit"]
    prior = int(data.get("prior_custody_days") or 0) if limit == "crown-182" else 0
    start = date.fromisoformat(data["custody_start"])
    computed = calendar.custody_time_limit_expiry(start, CUSTODY_LIMIT_DAYS[limit], prior)
    return Computation(computed.result, f"{limit}: {computed.explanation}")
