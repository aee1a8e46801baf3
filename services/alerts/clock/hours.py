"""Working hours and digest slots. Pure.

Alerts go out in digests at slot boundaries: from the start of working hours, every interval,
on working days (default 09:00, 10:00, ... 16:00 Europe/London). An alert that falls due
outside them is held to the next boundary, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.rules.calendar import LONDON, Calendar


def parse_hours(text: str) -> tuple[time, time]:
    """'09:00-17:00' as two times; a clear error otherwise."""
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    except ValueError as error:
        raise ValueError(f"working hours must look like 09:00-17:00, not {text!r}") from error
    if start >= end:
        raise ValueError(f"working hours must end after they start, not {text!r}")
    return start, end


@dataclass(frozen=True, slots=True)
class WorkingHours:
    calendar: Calendar
    start: time = time(9)
    end: time = time(17)
    interval: timedelta = timedelta(hours=1)

    def slots_on(self, day: date) -> list[datetime]:
        if not self.calendar.is_working_day(day):
            return []
        slot = datetime.combine(day, self.start, tzinfo=LONDON)
        end = datetime.combine(day, self.end, tzinfo=LONDON)
        found = []
        while slot < end:
            found.append(slot)
            slot += self.interval
        return found

    def next_slot(self, instant: datetime) -> datetime:
        """The first slot boundary at or after `instant`."""
        day = instant.astimezone(LONDON).date()
        while True:
            for slot in self.slots_on(day):
                if slot >= instant:
                    return slot
            day += timedelta(days=1)

    def current_slot(self, instant: datetime) -> datetime | None:
        """The slot `instant` lies in, or None outside working hours (nothing is sent then)."""
        local = instant.astimezone(LONDON)
        end = datetime.combine(local.date(), self.end, tzinfo=LONDON)
        slots = [s for s in self.slots_on(local.date()) if s <= instant]
        return slots[-1] if slots and instant < end else None
