"""The pure parts of what a digest says of an obligation: working days overdue, the next step,
which opening-event fields are shown. Dates checked by hand against the England and Wales
calendar (Christmas 2023: Mon 25 and Tue 26 Dec bank holidays, Mon 1 Jan 2024 too)."""

from __future__ import annotations

from datetime import date

from services.alerts.clock.schedule import Step, midnight, next_escalation
from services.alerts.delivery.particulars import custody_limit, shown
from services.rules.calendar import Calendar
from services.rules.packfile import load_pack

CAL = Calendar()
RULES = {r.id: r for r in load_pack()}


def test_working_days_overdue_skip_weekends_and_bank_holidays() -> None:
    due = date(2023, 12, 22)  # a Friday
    assert CAL.working_days_between(due, date(2023, 12, 22)) == 0
    assert CAL.working_days_between(due, date(2023, 12, 26)) == 0  # Sat, Sun, two holidays
    assert CAL.working_days_between(due, date(2023, 12, 27)) == 1
    assert CAL.working_days_between(due, date(2024, 1, 2)) == 4  # 27, 28, 29 Dec, 2 Jan


def next_step(rule: object, due: date, calendar: Calendar, now: object, every: int) -> Step | None:
    upcoming = next_escalation(rule, due, calendar, now, repeat_every=every)  # type: ignore[arg-type]
    return None if upcoming is None else upcoming.step


def test_the_next_step_is_the_lapse_then_each_escalation_then_reminders() -> None:
    rule, due = RULES["victim-letter"], date(2023, 12, 22)
    before = next_step(rule, due, CAL, midnight(date(2023, 12, 20)), 5)
    assert before is not None and (before.kind, before.day) == ("lapse", date(2023, 12, 23))
    lapsed = next_step(rule, due, CAL, midnight(date(2023, 12, 27)), 5)
    assert lapsed is not None
    assert (lapsed.level, lapsed.day, lapsed.roles) == (
        "escalation-1",
        date(2023, 12, 28),
        ("unit-head",),
    )
    late = next_step(rule, due, CAL, midnight(date(2024, 1, 3)), 5)
    # escalation-3 fell due Sat 30 Dec; reminder 1 at the end of the 5th working day (3 Jan)
    assert late is not None and (late.level, late.day) == ("repeat-1", date(2024, 1, 4))
    assert next_step(rule, due, CAL, midnight(date(2024, 1, 3)), 0) is None


def test_only_listed_fields_are_shown_never_a_victim_or_defendant_id() -> None:
    data = {
        "urn": "U1",
        "victim_id": "VICTIM-7Q4Z",
        "defendant_id": "DEF-9K2X",
        "hearing_id": "H1",
        "court": "Salisbury Magistrates' Court",
        "decision": "",
    }
    assert shown(data) == (("hearing", "H1"), ("court", "Salisbury Magistrates' Court"))


def test_only_the_custody_time_limit_itself_names_an_expiry() -> None:
    assert custody_limit(RULES["custody-time-limit"])
    assert not custody_limit(RULES["ctl-28-day-review"])
    assert not custody_limit(RULES["victim-letter"])
