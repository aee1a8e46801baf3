from datetime import UTC, date, datetime, timedelta, timezone

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.rules.calendar import LONDON, Calendar, Computation

CAL = Calendar()
# Independent oracle: the package's data read directly, not through Calendar.
ENG = holidays.country_holidays("GB", subdiv="ENG", years=range(2015, 2034))
FIRST, LAST = date(2016, 1, 1), date(2030, 12, 31)


def closed(day: date) -> bool:
    return day.weekday() >= 5 or day in ENG


def days_between(after: date, upto: date) -> list[date]:
    """Days in (after, upto]."""
    return [after + timedelta(days=i) for i in range(1, (upto - after).days + 1)]


def assert_ctl_invariants(start: date, days: int, prior: int) -> date:
    naive = start + timedelta(days=days - prior)
    result = CAL.custody_time_limit_expiry(start, days, prior).result
    assert not closed(result)
    assert result <= naive
    assert all(closed(d) for d in days_between(result, naive))
    return result


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (date(2018, 5, 11), date(2018, 5, 14)),  # Friday -> Monday
        (date(2018, 5, 4), date(2018, 5, 8)),  # Friday before the May Day bank holiday
        (date(2018, 5, 12), date(2018, 5, 14)),  # Saturday -> Monday
        (date(2018, 5, 13), date(2018, 5, 14)),  # Sunday -> Monday
        (date(2020, 12, 24), date(2020, 12, 29)),  # 28 Dec 2020 is the substitute Boxing Day
        (date(2021, 12, 24), date(2021, 12, 29)),  # substitutes 27 and 28 Dec 2021
        (date(2021, 12, 31), date(2022, 1, 4)),  # substitute New Year 3 Jan 2022
        (date(2022, 6, 1), date(2022, 6, 6)),  # moved Spring holiday and Platinum Jubilee
        (date(2022, 9, 16), date(2022, 9, 20)),  # State Funeral
        (date(2023, 5, 5), date(2023, 5, 9)),  # Coronation
        (date(2018, 3, 29), date(2018, 4, 3)),  # Good Friday and Easter Monday
        (date(1999, 12, 30), date(2000, 1, 4)),  # Millennium day and substitute New Year
        (date(2100, 12, 24), date(2100, 12, 29)),  # far year, loaded on demand
    ],
)
def test_one_working_day(start: date, expected: date) -> None:
    assert CAL.add_working_days(start, 1).result == expected


def test_christmas_and_new_year_span_explained() -> None:
    assert CAL.add_working_days(date(2017, 12, 21), 5) == Computation(
        date(2018, 1, 2),
        "2017-12-21 + 5 working days, skipping 25 Dec Christmas Day, 26 Dec Boxing Day, "
        "1 Jan New Year's Day = 2018-01-02",
    )


def test_explanation_lists_only_weekday_holidays() -> None:
    # 25 and 26 Dec 2021 and 1 Jan 2022 fell at weekends; only their substitutes are skipped.
    assert CAL.add_working_days(date(2021, 12, 24), 4).explanation == (
        "2021-12-24 + 4 working days, skipping 27 Dec Christmas Day (observed), "
        "28 Dec Boxing Day (observed), 3 Jan New Year's Day (observed) = 2022-01-04"
    )


def test_explanation_singular_plural_and_no_skip() -> None:
    assert CAL.add_working_days(date(2017, 12, 4), 1).explanation == (
        "2017-12-04 + 1 working day = 2017-12-05"
    )
    assert CAL.add_working_days(date(2017, 12, 4), 3).explanation == (
        "2017-12-04 + 3 working days = 2017-12-07"
    )
    assert CAL.add_working_days(date(2018, 5, 4), 1).explanation == (
        "2018-05-04 + 1 working day, skipping 7 May May Day = 2018-05-08"
    )


def test_zero_and_negative_working_days() -> None:
    assert CAL.add_working_days(date(2018, 5, 5), 0).result == date(2018, 5, 5)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2018, 5, 4), -1)


def test_holiday_name_and_working_day() -> None:
    assert CAL.holiday_name(date(2022, 9, 19)) == "State Funeral of Queen Elizabeth II"
    assert CAL.holiday_name(date(2022, 9, 20)) is None
    assert not CAL.is_working_day(date(2022, 1, 1))  # Saturday holiday
    assert not CAL.is_working_day(date(2022, 1, 3))
    assert CAL.is_working_day(date(2022, 1, 4))


def test_extra_holidays() -> None:
    cal = Calendar({date(2018, 5, 8): "Area closure"})
    assert cal.holiday_name(date(2018, 5, 8)) == "Area closure"
    assert cal.add_working_days(date(2018, 5, 4), 1) == Computation(
        date(2018, 5, 9),
        "2018-05-04 + 1 working day, skipping 7 May May Day, 8 May Area closure = 2018-05-09",
    )
    assert CAL.is_working_day(date(2018, 5, 8))


def test_add_calendar_days() -> None:
    assert CAL.add_calendar_days(date(2018, 3, 1), -28) == Computation(
        date(2018, 2, 1), "2018-03-01 - 28 calendar days = 2018-02-01"
    )
    assert CAL.add_calendar_days(date(2018, 12, 31), 1) == Computation(
        date(2019, 1, 1), "2018-12-31 + 1 calendar day = 2019-01-01"
    )


def test_ctl_without_roll_back() -> None:
    assert CAL.custody_time_limit_expiry(date(2017, 12, 1), 56) == Computation(
        date(2018, 1, 26), "custody from 2017-12-01 + 56 days = 2018-01-26"
    )


@pytest.mark.parametrize(
    ("start", "days", "prior", "expected"),
    [
        (date(2018, 4, 21), 56, 0, date(2018, 6, 15)),  # Saturday
        (date(2018, 4, 8), 70, 0, date(2018, 6, 15)),  # Sunday
        (date(2018, 2, 2), 56, 0, date(2018, 3, 29)),  # Good Friday
        (date(2017, 10, 2), 182, 0, date(2018, 3, 29)),  # Easter Monday -> before Good Friday
        (date(2018, 10, 30), 56, 0, date(2018, 12, 24)),  # Christmas Day
        (date(2018, 10, 17), 70, 0, date(2018, 12, 24)),  # Boxing Day
        (date(2020, 11, 2), 56, 0, date(2020, 12, 24)),  # substitute Boxing Day 2020
        (date(2021, 11, 2), 56, 0, date(2021, 12, 24)),  # substitutes 27/28 Dec 2021
        (date(2021, 7, 5), 182, 0, date(2021, 12, 31)),  # substitute New Year 2022
        (date(2022, 4, 8), 56, 0, date(2022, 6, 1)),  # Platinum Jubilee
        (date(2022, 7, 11), 70, 0, date(2022, 9, 16)),  # State Funeral
        (date(2022, 11, 7), 182, 0, date(2023, 5, 5)),  # Coronation
        (date(2018, 4, 19), 182, 20, date(2018, 9, 28)),  # prior custody deducted
        (date(2018, 4, 21), 182, 20, date(2018, 9, 28)),  # deducted, then rolled off Sunday
    ],
)
def test_ctl_roll_back(start: date, days: int, prior: int, expected: date) -> None:
    assert CAL.custody_time_limit_expiry(start, days, prior).result == expected


def test_ctl_roll_back_explained() -> None:
    assert CAL.custody_time_limit_expiry(date(2018, 2, 13), 56, 10).explanation == (
        "custody from 2018-02-13 + 56 days - 10 days already in custody = 2018-03-31 "
        "(Saturday), rolled back past 31 Mar Saturday, 30 Mar Good Friday = 2018-03-29"
    )


def test_ctl_christmas_and_good_friday_closed_without_holiday_data() -> None:
    cal = Calendar()
    cal._bank_holidays = {}  # type: ignore[assignment]
    assert cal.custody_time_limit_expiry(date(2018, 10, 30), 56).result == date(2018, 12, 24)
    assert cal.custody_time_limit_expiry(date(2018, 2, 2), 56).result == date(2018, 3, 29)
    # Boxing Day is only closed as a bank holiday, so without the data it is an ordinary day.
    assert cal.custody_time_limit_expiry(date(2018, 10, 31), 56).result == date(2018, 12, 26)


def test_ctl_rejects_negative_inputs() -> None:
    with pytest.raises(ValueError):
        CAL.custody_time_limit_expiry(date(2018, 1, 1), -1)
    with pytest.raises(ValueError):
        CAL.custody_time_limit_expiry(date(2018, 1, 1), 56, -1)


@given(
    st.dates(FIRST, LAST),
    st.sampled_from([56, 70, 182]),
    st.integers(0, 60),
)
def test_ctl_properties(start: date, days: int, prior: int) -> None:
    assert_ctl_invariants(start, days, prior)


def test_ctl_56_every_start_2016_to_2030() -> None:
    rolled = 0
    for start in days_between(FIRST - timedelta(days=1), LAST):
        if assert_ctl_invariants(start, 56, 0) != start + timedelta(days=56):
            rolled += 1
    assert rolled > 0.28 * (LAST - FIRST).days  # weekends alone are 2/7


@given(st.dates(FIRST, LAST), st.integers(0, 40))
def test_working_day_properties(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n).result
    if n == 0:
        assert result == start
        return
    assert not closed(result)
    assert sum(not closed(d) for d in days_between(start, result)) == n


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2018, 3, 25, 0, 30, tzinfo=UTC), date(2018, 3, 25)),
        (datetime(2018, 6, 30, 23, 30, tzinfo=UTC), date(2018, 7, 1)),  # BST
        (datetime(2018, 7, 1, 0, 30, tzinfo=LONDON), date(2018, 7, 1)),
        (datetime(2018, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))), date(2019, 1, 1)),
    ],
)
def test_london_date(instant: datetime, expected: date) -> None:
    assert CAL.london_date(instant) == expected


def test_london_date_rejects_naive() -> None:
    with pytest.raises(ValueError):
        CAL.london_date(datetime(2018, 6, 30, 23, 30))  # noqa: DTZ001


def test_explicit_good_friday_matches_package_2000_to_2100() -> None:
    cal = Calendar()
    cal._bank_holidays = {}  # type: ignore[assignment]
    years = holidays.country_holidays("GB", subdiv="ENG", years=range(2000, 2101))
    for good_friday in (d for d, name in years.items() if name == "Good Friday"):
        start = good_friday - timedelta(days=56)
        expiry = cal.custody_time_limit_expiry(start, 56).result
        assert expiry == good_friday - timedelta(days=1), good_friday
