"""Custody time limits exactly as the regulations say (contract section 3), against an oracle
that shares nothing with the code under test: the GOV.UK England and Wales bank holiday list
typed in by hand, and reg. 2's roll-back written out again as a plain loop.

Prosecution of Offences (Custody Time Limits) Regulations 1987, reg. 2 and 4: expiry is
custody_start + limit days (first day not counted); if that day is a Saturday, Sunday, Christmas
Day, Good Friday or bank holiday, the limit ends on the latest earlier day that is none of these.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import holidays
import pytest

from services.rules.calendar import Calendar

CAL = Calendar()
FIRST, LAST = date(2016, 1, 1), date(2030, 12, 31)
DAY = timedelta(days=1)

# GOV.UK "UK bank holidays", England and Wales, 2016-2030, as published: only the days off
# (a holiday falling at a weekend appears as its substitute, the next free weekday). Years after
# 2025 follow the usual rules, GOV.UK publishing only a couple of years ahead.
#      New Year  Good Fri  Easter Mon  Early May  Spring  Summer  Christmas  Boxing
_GOVUK = """
2016   01-01     03-25     03-28       05-02      05-30   08-29   12-27      12-26
2017   01-02     04-14     04-17       05-01      05-29   08-28   12-25      12-26
2018   01-01     03-30     04-02       05-07      05-28   08-27   12-25      12-26
2019   01-01     04-19     04-22       05-06      05-27   08-26   12-25      12-26
2020   01-01     04-10     04-13       05-08      05-25   08-31   12-25      12-28
2021   01-01     04-02     04-05       05-03      05-31   08-30   12-27      12-28
2022   01-03     04-15     04-18       05-02      06-02   08-29   12-27      12-26
2023   01-02     04-07     04-10       05-01      05-29   08-28   12-25      12-26
2024   01-01     03-29     04-01       05-06      05-27   08-26   12-25      12-26
2025   01-01     04-18     04-21       05-05      05-26   08-25   12-25      12-26
2026   01-01     04-03     04-06       05-04      05-25   08-31   12-25      12-28
2027   01-01     03-26     03-29       05-03      05-31   08-30   12-27      12-28
2028   01-03     04-14     04-17       05-01      05-29   08-28   12-25      12-26
2029   01-01     03-30     04-02       05-07      05-28   08-27   12-25      12-26
2030   01-01     04-19     04-22       05-06      05-27   08-26   12-25      12-26
"""
# 2020: early May moved to Friday 8 May for VE day. 2022: spring moved to Thursday 2 June.
ONE_OFF = {
    date(2022, 6, 3): "Platinum Jubilee",
    date(2022, 9, 19): "State Funeral of Queen Elizabeth II",
    date(2023, 5, 8): "Coronation of King Charles III",
}
KINDS = (
    "new-year",
    "good-friday",
    "easter-monday",
    "early-may",
    "spring",
    "summer",
    "christmas",
    "boxing",
)


def _table() -> dict[date, str]:
    days: dict[date, str] = {}
    for line in _GOVUK.split("\n"):
        if not line.strip():
            continue
        year, *cells = line.split()
        for kind, cell in zip(KINDS, cells, strict=True):
            month, day = cell.split("-")
            days[date(int(year), int(month), int(day))] = kind
    return days | dict.fromkeys(ONE_OFF, "one-off")


BANK_HOLIDAYS = _table()
GOOD_FRIDAYS = {day for day, kind in BANK_HOLIDAYS.items() if kind == "good-friday"}
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def oracle_closed(day: date) -> bool:
    """Reg. 2: Saturday, Sunday, Christmas Day, Good Friday or bank holiday."""
    return (
        day.weekday() >= 5
        or (day.month, day.day) == (12, 25)
        or day in GOOD_FRIDAYS
        or day in BANK_HOLIDAYS
    )


def oracle_expiry(start: date, days: int, prior: int) -> date:
    day = start + timedelta(days=days - prior)
    while oracle_closed(day):
        day -= DAY
    return day


# (limit days, prior custody days): the three limits, and crown-182 with custody already served.
LIMITS = [(56, 0), (70, 0), (182, 0), (182, 10), (182, 45)]


def test_hand_list_is_well_formed() -> None:
    """Guards the typing: each day off is a weekday, Easter Monday is 3 days after Good
    Friday, and the Monday holidays are Mondays except the two moved ones."""
    assert len(BANK_HOLIDAYS) == 15 * 8 + 3
    assert all(day.weekday() < 5 for day in BANK_HOLIDAYS)
    moved = {date(2020, 5, 8), date(2022, 6, 2)}
    for day, kind in BANK_HOLIDAYS.items():
        if kind == "good-friday":
            assert day.weekday() == 4 and BANK_HOLIDAYS[day + 3 * DAY] == "easter-monday"
        if kind in ("early-may", "spring", "summer") and day not in moved:
            assert day.weekday() == 0, day
        if kind == "early-may" and day not in moved:
            assert day.day <= 7
        if kind in ("spring", "summer") and day not in moved:
            assert (day + 7 * DAY).month != day.month  # the last Monday of its month


@pytest.mark.parametrize("year", range(FIRST.year, LAST.year + 1))
def test_hand_list_equals_holidays_package(year: int) -> None:
    package = holidays.country_holidays("GB", subdiv="ENG", years=year)
    days_off = {day for day in package if day.weekday() < 5}
    assert days_off == {day for day in BANK_HOLIDAYS if day.year == year}
    # The package also lists the holiday itself when it falls at a weekend (beside its
    # substitute); GOV.UK does not. Weekends are closed anyway, so nothing turns on it.
    at_weekend = {(day.month, day.day) for day in package if day.weekday() >= 5}
    assert at_weekend <= {(1, 1), (12, 25), (12, 26)}


ROLLED_BACK = re.compile(r" \((.+?)\), rolled back past (.+) = (\S+)")


def _explained(start: date, days: int, prior: int, expiry: date, explanation: str) -> list[str]:
    """What is wrong with an explanation: the sum, then every day rolled back past, in order."""
    naive = start + timedelta(days=days - prior)
    text = f"custody from {start} + {days} days"
    if prior:
        text += f" - {prior} days already in custody"
    text += f" = {naive}"
    if naive == expiry:
        return [] if explanation == text else [f"expected {text!r}"]
    found = ROLLED_BACK.fullmatch(explanation.removeprefix(text))
    if not explanation.startswith(text) or not found:
        return [f"not a roll-back explanation: {explanation!r}"]
    reason, passed, result = found.groups()
    problems = [] if result == str(expiry) else [f"ends {result}, not {expiry}"]
    entries = passed.split(", ")
    skipped = [naive - i * DAY for i in range((naive - expiry).days)]
    if [e.split(" ", 2)[:2] for e in entries] != [[str(d.day), f"{d:%b}"] for d in skipped]:
        problems.append(f"days rolled back past {entries}, expected {skipped}")
    elif entries[0].split(" ", 2)[2] != reason:
        problems.append(f"first day's reason {entries[0]!r} is not {reason!r}")
    for entry, day in zip(entries, skipped, strict=False):
        named = entry.split(" ", 2)[2] if entry.count(" ") >= 2 else ""
        holiday = day in BANK_HOLIDAYS or (day.month, day.day) in ((1, 1), (12, 25), (12, 26))
        if not holiday and named != WEEKDAY_NAMES[day.weekday()]:
            problems.append(f"{entry!r} should name the {WEEKDAY_NAMES[day.weekday()]}")
        if holiday and named in WEEKDAY_NAMES:
            problems.append(f"{entry!r} should name the holiday")
    return problems


def test_every_custody_start_2016_to_2030_against_the_oracle() -> None:
    wrong: list[str] = []
    checked = rolled = 0
    for days, prior in LIMITS:
        start = FIRST
        while start + timedelta(days=days - prior) <= LAST:
            expected = oracle_expiry(start, days, prior)
            got = CAL.custody_time_limit_expiry(start, days, prior)
            if got.result != expected:
                wrong.append(f"{start} +{days} -{prior}: {got.result}, expected {expected}")
            wrong += [
                f"{start} +{days} -{prior}: {problem}"
                for problem in _explained(start, days, prior, expected, got.explanation)
            ]
            checked += 1
            rolled += expected != start + timedelta(days=days - prior)
            start += DAY
    assert wrong[:20] == []
    assert checked == 5 * 5479 - 56 - 70 - 182 - 172 - 137
    assert rolled > checked * 2 / 7  # weekends alone are 2 days in 7


# Every kind of roll-back found in 2016-2030: the day the limit would end, the day it ends,
# and the days rolled back past as the explanation names them (latest first).
ROLL_BACKS = [
    ("saturday", date(2018, 6, 16), date(2018, 6, 15), "16 Jun Saturday"),
    ("sunday", date(2018, 6, 17), date(2018, 6, 15), "17 Jun Sunday, 16 Jun Saturday"),
    ("new-year-weekday", date(2019, 1, 1), date(2018, 12, 31), "1 Jan New Year's Day"),
    (
        "new-year-monday",
        date(2018, 1, 1),
        date(2017, 12, 29),
        "1 Jan New Year's Day, 31 Dec Sunday, 30 Dec Saturday",
    ),
    ("new-year-saturday", date(2022, 1, 1), date(2021, 12, 31), "1 Jan New Year's Day"),
    (
        "new-year-sunday",
        date(2017, 1, 1),
        date(2016, 12, 30),
        "1 Jan New Year's Day, 31 Dec Saturday",
    ),
    (
        "new-year-substitute-after-sunday",
        date(2017, 1, 2),
        date(2016, 12, 30),
        "2 Jan New Year's Day (observed), 1 Jan New Year's Day, 31 Dec Saturday",
    ),
    (
        "new-year-substitute-after-saturday",
        date(2022, 1, 3),
        date(2021, 12, 31),
        "3 Jan New Year's Day (observed), 2 Jan Sunday, 1 Jan New Year's Day",
    ),
    ("good-friday", date(2018, 3, 30), date(2018, 3, 29), "30 Mar Good Friday"),
    (
        "easter-saturday",
        date(2018, 3, 31),
        date(2018, 3, 29),
        "31 Mar Saturday, 30 Mar Good Friday",
    ),
    (
        "easter-sunday",
        date(2018, 4, 1),
        date(2018, 3, 29),
        "1 Apr Sunday, 31 Mar Saturday, 30 Mar Good Friday",
    ),
    (
        "easter-monday",
        date(2018, 4, 2),
        date(2018, 3, 29),
        "2 Apr Easter Monday, 1 Apr Sunday, 31 Mar Saturday, 30 Mar Good Friday",
    ),
    (
        "easter-monday-across-month-end",
        date(2024, 4, 1),
        date(2024, 3, 28),
        "1 Apr Easter Monday, 31 Mar Sunday, 30 Mar Saturday, 29 Mar Good Friday",
    ),
    (
        "early-may",
        date(2018, 5, 7),
        date(2018, 5, 4),
        "7 May May Day, 6 May Sunday, 5 May Saturday",
    ),
    ("early-may-moved-for-ve-day", date(2020, 5, 8), date(2020, 5, 7), "8 May May Day"),
    (
        "coronation",
        date(2023, 5, 8),
        date(2023, 5, 5),
        "8 May Coronation of Charles III, 7 May Sunday, 6 May Saturday",
    ),
    (
        "spring",
        date(2019, 5, 27),
        date(2019, 5, 24),
        "27 May Spring Bank Holiday, 26 May Sunday, 25 May Saturday",
    ),
    ("spring-moved-for-jubilee", date(2022, 6, 2), date(2022, 6, 1), "2 Jun Spring Bank Holiday"),
    (
        "platinum-jubilee",
        date(2022, 6, 3),
        date(2022, 6, 1),
        "3 Jun Platinum Jubilee of Elizabeth II, 2 Jun Spring Bank Holiday",
    ),
    (
        "jubilee-weekend",
        date(2022, 6, 5),
        date(2022, 6, 1),
        "5 Jun Sunday, 4 Jun Saturday, 3 Jun Platinum Jubilee of Elizabeth II, "
        "2 Jun Spring Bank Holiday",
    ),
    (
        "summer",
        date(2019, 8, 26),
        date(2019, 8, 23),
        "26 Aug Late Summer Bank Holiday, 25 Aug Sunday, 24 Aug Saturday",
    ),
    (
        "state-funeral",
        date(2022, 9, 19),
        date(2022, 9, 16),
        "19 Sep State Funeral of Queen Elizabeth II, 18 Sep Sunday, 17 Sep Saturday",
    ),
    ("christmas-weekday", date(2019, 12, 25), date(2019, 12, 24), "25 Dec Christmas Day"),
    (
        "boxing-weekday",
        date(2019, 12, 26),
        date(2019, 12, 24),
        "26 Dec Boxing Day, 25 Dec Christmas Day",
    ),
    (
        "weekend-after-boxing-friday",
        date(2025, 12, 28),
        date(2025, 12, 24),
        "28 Dec Sunday, 27 Dec Saturday, 26 Dec Boxing Day, 25 Dec Christmas Day",
    ),
    (
        "christmas-monday",
        date(2017, 12, 25),
        date(2017, 12, 22),
        "25 Dec Christmas Day, 24 Dec Sunday, 23 Dec Saturday",
    ),
    (
        "boxing-tuesday",
        date(2017, 12, 26),
        date(2017, 12, 22),
        "26 Dec Boxing Day, 25 Dec Christmas Day, 24 Dec Sunday, 23 Dec Saturday",
    ),
    (
        "christmas-sunday",
        date(2016, 12, 25),
        date(2016, 12, 23),
        "25 Dec Christmas Day, 24 Dec Saturday",
    ),
    (
        "boxing-monday",
        date(2016, 12, 26),
        date(2016, 12, 23),
        "26 Dec Boxing Day, 25 Dec Christmas Day, 24 Dec Saturday",
    ),
    (
        "christmas-substitute-tuesday",
        date(2022, 12, 27),
        date(2022, 12, 23),
        "27 Dec Christmas Day (observed), 26 Dec Boxing Day, 25 Dec Christmas Day, 24 Dec Saturday",
    ),
    (
        "boxing-saturday",
        date(2020, 12, 26),
        date(2020, 12, 24),
        "26 Dec Boxing Day, 25 Dec Christmas Day",
    ),
    (
        "boxing-substitute-monday",
        date(2020, 12, 28),
        date(2020, 12, 24),
        "28 Dec Boxing Day (observed), 27 Dec Sunday, 26 Dec Boxing Day, 25 Dec Christmas Day",
    ),
    ("christmas-saturday", date(2021, 12, 25), date(2021, 12, 24), "25 Dec Christmas Day"),
    (
        "boxing-sunday",
        date(2021, 12, 26),
        date(2021, 12, 24),
        "26 Dec Boxing Day, 25 Dec Christmas Day",
    ),
    (
        "christmas-substitute-monday",
        date(2021, 12, 27),
        date(2021, 12, 24),
        "27 Dec Christmas Day (observed), 26 Dec Boxing Day, 25 Dec Christmas Day",
    ),
    (
        "boxing-substitute-tuesday",
        date(2021, 12, 28),
        date(2021, 12, 24),
        "28 Dec Boxing Day (observed), 27 Dec Christmas Day (observed), 26 Dec Boxing Day, "
        "25 Dec Christmas Day",
    ),
]


@pytest.mark.parametrize(
    ("landing", "expected", "passed"),
    [case[1:] for case in ROLL_BACKS],
    ids=[case[0] for case in ROLL_BACKS],
)
def test_each_kind_of_roll_back(landing: date, expected: date, passed: str) -> None:
    reason = passed.split(", ")[0].split(" ", 2)[2]
    for days, prior in LIMITS:
        start = landing - timedelta(days=days - prior)
        got = CAL.custody_time_limit_expiry(start, days, prior)
        already = f" - {prior} days already in custody" if prior else ""
        assert got.result == expected == oracle_expiry(start, days, prior)
        assert got.explanation == (
            f"custody from {start} + {days} days{already} = {landing} ({reason}), "
            f"rolled back past {passed} = {expected}"
        )


# Days that look like holidays but are ordinary days for a custody time limit in England and
# Wales: the regulations roll back off nothing else.
NOT_CLOSED = [
    ("maundy-thursday", date(2018, 3, 29)),
    ("usual-early-may-monday-2020", date(2020, 5, 4)),
    ("usual-spring-monday-2022", date(2022, 5, 30)),
    ("christmas-eve", date(2025, 12, 24)),
    ("new-years-eve", date(2025, 12, 31)),
    ("scotland-2-january", date(2018, 1, 2)),
    ("scotland-summer", date(2025, 8, 4)),
    ("scotland-st-andrew-substitute", date(2025, 12, 1)),
    ("northern-ireland-st-patrick", date(2025, 3, 17)),
    ("northern-ireland-boyne-substitute", date(2025, 7, 14)),
]


@pytest.mark.parametrize("landing", [day for _, day in NOT_CLOSED], ids=[n for n, _ in NOT_CLOSED])
def test_ordinary_days_do_not_roll_back(landing: date) -> None:
    for days, prior in LIMITS:
        start = landing - timedelta(days=days - prior)
        got = CAL.custody_time_limit_expiry(start, days, prior)
        assert got.result == landing == oracle_expiry(start, days, prior)
        assert "rolled back" not in got.explanation
