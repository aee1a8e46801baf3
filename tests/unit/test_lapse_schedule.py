"""The lapse clock's pure maths: step days, the due-date windows it queries, working hours,
routing. Dates checked by hand against the England and Wales calendar."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from services.alerts.clock.hours import WorkingHours, parse_hours
from services.alerts.clock.routing import About, Directory, Person, Recipient
from services.alerts.clock.schedule import (
    days_starting_in,
    due_range,
    midnight,
    repeat_step,
    steps_for,
    templates,
)
from services.alerts.delivery.rendering import Line, by_obligation
from services.rules.calendar import LONDON, Calendar
from services.rules.packfile import load_pack

CAL = Calendar()
RULES = {r.id: r for r in load_pack()}


def test_victim_letter_steps_over_christmas_2023() -> None:
    steps = {
        s.level: (s.day, s.roles)
        for s in steps_for(RULES["victim-letter"], date(2023, 12, 22), CAL)
    }
    assert steps == {
        "warning-3": (date(2023, 12, 19), ("owner",)),
        "warning-1": (date(2023, 12, 21), ("owner",)),
        "lapse": (date(2023, 12, 23), ("owner", "legal-manager", "abm")),  # business: ABM
        "escalation-1": (date(2023, 12, 28), ("unit-head",)),  # Wed 27 was the working day
        "escalation-3": (date(2023, 12, 30), ("dccp",)),
    }


def test_custody_time_limit_warns_the_chain_and_lapses_to_the_ccp() -> None:
    steps = {s.level: s for s in steps_for(RULES["custody-time-limit"], date(2024, 1, 3), CAL)}
    assert steps["warning-10"].day == date(2023, 12, 15)
    assert steps["warning-2"].roles == ("owner", "legal-manager", "unit-head")
    assert steps["lapse"].roles == ("owner", "legal-manager", "unit-head", "dccp", "ccp")
    assert not [s for s in steps.values() if s.kind == "escalation"]


def test_repeats_count_working_days_after_the_lapse() -> None:
    rule = RULES["victim-letter"]
    assert repeat_step(rule, date(2023, 12, 22), 1, 5, CAL).day == date(2024, 1, 4)
    assert repeat_step(rule, date(2023, 12, 22), 2, 5, CAL).day == date(2024, 1, 11)


def test_a_step_falls_due_at_london_midnight_in_summer_and_winter() -> None:
    assert midnight(date(2024, 7, 1)).utcoffset() == timedelta(hours=1)
    assert midnight(date(2024, 1, 1)).utcoffset() == timedelta(0)


def test_days_starting_in_a_window() -> None:
    after = datetime(2023, 12, 22, 17, tzinfo=LONDON)
    assert days_starting_in(after, datetime(2023, 12, 27, 10, 30, tzinfo=LONDON)) == (
        date(2023, 12, 23),
        date(2023, 12, 27),
    )
    assert days_starting_in(after, datetime(2023, 12, 22, 23, 59, tzinfo=LONDON)) is None
    assert days_starting_in(after, datetime(2023, 12, 23, 0, tzinfo=LONDON)) == (
        date(2023, 12, 23),
        date(2023, 12, 23),
    )


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_due_ranges_hold_exactly_the_due_dates_whose_step_falls_in_the_days(rule_id: str) -> None:
    """Against brute force over two years with Christmases, Easters and a coronation."""
    dues = [date(2022, 11, 1) + timedelta(days=n) for n in range(800)]
    for template in templates(RULES[rule_id]):
        for start in (date(2023, 12, 22), date(2024, 3, 28), date(2023, 5, 6), date(2024, 1, 1)):
            for span in (0, 1, 5):
                days = (start, start + timedelta(days=span))
                first, last = due_range(template, days, CAL)
                wanted = [d for d in dues if days[0] <= template.day_for(d, CAL) <= days[1]]
                found = [d for d in dues if first <= d <= last]
                assert found == wanted, (template.level, days)


def test_working_hours_slots_hold_alerts_to_the_next_working_hour() -> None:
    hours = WorkingHours(CAL, time(9), time(17), timedelta(hours=1))
    saturday = datetime(2023, 12, 23, 0, tzinfo=LONDON)
    assert hours.next_slot(saturday) == datetime(2023, 12, 27, 9, tzinfo=LONDON)
    assert hours.next_slot(datetime(2023, 12, 27, 10, 20, tzinfo=LONDON)) == datetime(
        2023, 12, 27, 11, tzinfo=LONDON
    )
    assert hours.next_slot(datetime(2023, 12, 29, 16, 30, tzinfo=LONDON)) == datetime(
        2024, 1, 2, 9, tzinfo=LONDON
    )
    assert hours.current_slot(datetime(2023, 12, 27, 10, 30, tzinfo=LONDON)) == datetime(
        2023, 12, 27, 10, tzinfo=LONDON
    )
    assert hours.current_slot(datetime(2023, 12, 27, 17, 0, tzinfo=LONDON)) is None
    assert hours.current_slot(datetime(2023, 12, 27, 8, 59, tzinfo=LONDON)) is None
    assert hours.current_slot(datetime(2023, 12, 26, 10, 0, tzinfo=LONDON)) is None  # holiday


def test_working_hours_setting_is_read_or_refused() -> None:
    assert parse_hours("08:30-18:00") == (time(8, 30), time(18))
    for bad in ("9-5", "17:00-09:00", "09:00"):
        with pytest.raises(ValueError, match="working hours"):
            parse_hours(bad)


ORG = Directory(
    [
        Person("CCP", "ccp", "w", None, None, "ccp@x"),
        Person("DCCP", "dccp", "w", None, "CCP", "d@x"),
        Person("ABM", "abm", "w", None, "CCP", "a@x"),
        Person("UH-M", "unit-head", "w", "magistrates", "DCCP", "um@x"),
        Person("UH-C", "unit-head", "w", "crown", "DCCP", "uc@x"),
        Person("LM", "legal-manager", "w", "crown", "UH-C", "lm@x"),
        Person("P1", "prosecutor", "w", "crown", "LM", "p1@x"),
        Person("P2", "prosecutor", "w", "crown", None, "p2@x"),
    ]
)


def test_routing_follows_the_line_and_the_area() -> None:
    roles = ("owner", "legal-manager", "unit-head", "dccp", "ccp", "abm")
    assert ORG.route(roles, About("P1", "w")) == [
        Recipient("P1", "owner"),
        Recipient("LM", "legal-manager"),
        Recipient("UH-C", "unit-head"),  # the owner's unit, not magistrates
        Recipient("DCCP", "dccp"),
        Recipient("CCP", "ccp"),
        Recipient("ABM", "abm"),
    ]


def test_no_owner_or_no_manager_goes_to_the_unit_head_saying_why() -> None:
    assert ORG.route(("owner",), About(None, "w", unit="magistrates")) == [
        Recipient("UH-M", "owner", "no owner on record: sent to the Area's unit head")
    ]
    assert ORG.route(("owner", "legal-manager"), About("P2", "w")) == [
        Recipient("P2", "owner"),
        Recipient(
            "UH-C",
            "legal-manager",
            "no line manager on record for owner P2: sent to the Area's unit head",
        ),
    ]
    assert ORG.route(("owner",), About("GONE", "w", unit="crown")) == [
        Recipient("UH-C", "owner", "owner GONE not on record: sent to the Area's unit head")
    ]


def test_a_missing_unit_head_goes_up_to_the_dccp() -> None:
    small = Directory([Person("D", "dccp", "x", None, None, "d@x")])
    assert small.route(("owner",), About(None, "x")) == [
        Recipient("D", "owner", "no owner on record: sent to the Area's dccp")
    ]
    assert small.route(("abm",), About(None, "x")) == []


def test_a_digest_lists_each_obligation_once_most_severe_first() -> None:
    lines = [
        Line(1, "ob-a", "victim-letter", "U1", date(2024, 1, 5), "warning-3", None),
        Line(2, "ob-b", "victim-letter", "U2", date(2024, 1, 2), "lapse", None),
        Line(3, "ob-a", "victim-letter", "U1", date(2024, 1, 5), "warning-1", None),
        Line(4, "ob-b", "victim-letter", "U2", date(2024, 1, 2), "escalation-1", None),
    ]
    groups = by_obligation(lines)
    assert [[x.alert_id for x in g] for g in groups] == [[2, 4], [1, 3]]
