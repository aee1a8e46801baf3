"""What the pages say comes next for an obligation: the next lapse, escalation or reminder
(with acknowledgements and snoozes), a snooze's end, and working days overdue. Dates checked
by hand against the England and Wales calendar (victim letter due Fri 22 Dec 2023: Christmas,
Boxing Day and New Year's Day are not working days)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.alerts.clock.schedule import midnight, next_escalation, snooze_end
from services.rules.calendar import LONDON, Calendar
from services.rules.packfile import load_pack

CAL = Calendar()
LETTER = next(r for r in load_pack() if r.id == "victim-letter")
DUE = date(2023, 12, 22)


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("now", "level", "when"),
    [
        (at("2023-12-20"), "lapse", date(2023, 12, 23)),
        (at("2023-12-23"), "escalation-1", date(2023, 12, 28)),  # Wed 27 the first working day
        (at("2023-12-29"), "escalation-3", date(2023, 12, 30)),
        (at("2023-12-30"), "repeat-1", date(2024, 1, 4)),  # 27, 28, 29, 2, 3 Jan
        (at("2024-01-04"), "repeat-2", date(2024, 1, 11)),  # then 4, 5, 8, 9, 10 Jan
        (at("2024-03-01"), "repeat-10", date(2024, 3, 7)),  # found without counting up from 1
    ],
)
def test_the_next_step_after_now(now: datetime, level: str, when: date) -> None:
    found = next_escalation(LETTER, DUE, CAL, now, repeat_every=5)
    assert found is not None
    assert (found.step.level, found.at) == (level, midnight(when))


def test_an_acknowledgement_stops_them_and_no_reminders_means_none_after_the_last() -> None:
    assert next_escalation(LETTER, DUE, CAL, at("2023-12-23"), repeat_every=5, stopped=True) is None
    assert next_escalation(LETTER, DUE, CAL, at("2023-12-30"), repeat_every=0) is None


def test_a_snooze_holds_escalations_but_never_the_lapse() -> None:
    held = midnight(date(2024, 1, 2))
    escalation = next_escalation(
        LETTER, DUE, CAL, at("2023-12-23"), repeat_every=5, held_until=held
    )
    assert escalation is not None
    assert (escalation.step.level, escalation.at) == ("escalation-1", held)
    lapse = next_escalation(LETTER, DUE, CAL, at("2023-12-20"), repeat_every=5, held_until=held)
    assert lapse is not None and lapse.at == midnight(date(2023, 12, 23))
    ended = next_escalation(
        LETTER, DUE, CAL, at("2023-12-23"), repeat_every=5, held_until=midnight(DUE)
    )
    assert ended is not None and ended.at == midnight(date(2023, 12, 28))


def test_a_snooze_of_n_working_days_ends_at_the_midnight_ending_the_nth() -> None:
    assert snooze_end(DUE, 1, CAL) == midnight(date(2023, 12, 28))  # Wed 27 Dec held whole
    assert snooze_end(DUE, 3, CAL) == midnight(date(2023, 12, 30))
    assert snooze_end(DUE, 5, CAL) == midnight(date(2024, 1, 4))


def test_working_days_overdue_skip_weekends_and_bank_holidays() -> None:
    assert CAL.working_days_between(DUE, DUE) == 0
    assert CAL.working_days_between(DUE, date(2023, 12, 26)) == 0  # Sat to Boxing Day
    assert CAL.working_days_between(DUE, date(2024, 1, 2)) == 4  # 27, 28, 29 Dec, 2 Jan
    assert CAL.working_days_between(date(2024, 1, 2), DUE) == 0
