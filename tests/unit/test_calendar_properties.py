"""Working days between two dates, counted by whole weeks less weekday holidays, agree with
counting day by day (England and Wales bank holidays, and an Area's extra closures)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.rules.calendar import Calendar

CALENDAR = Calendar()
CLOSED = Calendar(extra_holidays={date(2024, 3, 13): "closure", date(2024, 3, 16): "Saturday"})


def _day_by_day(calendar: Calendar, start: date, end: date) -> int:
    return sum(
        calendar.is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1)
    )


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
    span=st.integers(min_value=-10, max_value=1500),
)
def test_counting_by_weeks_agrees_with_counting_days(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    for calendar in (CALENDAR, CLOSED):
        assert calendar.working_days_between(start, end) == _day_by_day(calendar, start, end)


def test_christmas_and_an_extra_closure() -> None:
    assert CALENDAR.working_days_between(date(2023, 12, 22), date(2023, 12, 27)) == 1
    assert CLOSED.working_days_between(date(2024, 3, 11), date(2024, 3, 18)) == 4
