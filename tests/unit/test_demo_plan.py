"""The demo's weeks and clock (services/entrypoints/demo/plan.py): eight weeks of Thames and
Chiltern ending on the Sunday of 2017-W30, every day's events published on its London date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from services.entrypoints.demo.plan import (
    AREA,
    LAST_DAY,
    DemoClock,
    by_day,
    demo_plan,
    summary_weekday,
)
from services.rules.calendar import LONDON
from services.simulation import weeks_of


def test_eight_weeks_end_on_the_sunday_of_2017_w30() -> None:
    plan = demo_plan()
    assert plan.start == date(2017, 6, 5) and plan.start.weekday() == 0
    assert plan.end - timedelta(days=1) == LAST_DAY == date(2017, 7, 30)
    assert [a.slug for a in plan.areas] == [AREA]
    assert demo_plan(weeks=2).start == date(2017, 7, 17)


def test_each_day_gets_the_events_of_its_london_date() -> None:
    plan = demo_plan(weeks=1, scale=0.05)
    [events] = list(weeks_of(plan))
    days = list(by_day(plan.start, events))
    assert [d for d, _ in days] == [plan.start + timedelta(n) for n in range(7)]
    assert sum(len(e) for _, e in days) == len(events) > 0
    for day, todays in days[1:]:
        assert all(
            datetime.fromisoformat(e["time"]).astimezone(LONDON).date() == day for e in todays
        )
    # The staff records of the Friday before go out with the Monday's events.
    assert any(e["type"] == "staff-updated" for e in days[0][1])


def test_the_clock_stands_where_it_is_put() -> None:
    clock = DemoClock(datetime(2017, 6, 5, tzinfo=LONDON))
    clock.morning_of(date(2017, 6, 30))
    assert clock.now() == datetime(2017, 6, 30, 9, 0, 1, tzinfo=LONDON)
    assert clock.today() == date(2017, 6, 30)
    clock.at(date(2017, 6, 30), time(16, 0))
    assert clock.now() == datetime(2017, 6, 30, 16, 0, 1, tzinfo=LONDON)
    assert summary_weekday("friday") == 4
