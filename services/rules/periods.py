"""Calendar periods of a recurring commitment: ISO weeks, calendar months, calendar quarters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

EVERY = ("weekly", "monthly", "quarterly")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    start: date
    end: date
    label: str  # 2025-W01, 2025-01 or 2025-Q1: part of the obligation id


def period_of(day: date, every: str) -> Period:
    if every == "weekly":
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return Period(start, start + timedelta(days=6), f"{year}-W{week:02d}")
    if every == "monthly":
        start = day.replace(day=1)
        return Period(start, _month_after(start) - timedelta(days=1), f"{day:%Y-%m}")
    if every == "quarterly":
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        end = _month_after(_month_after(_month_after(start))) - timedelta(days=1)
        return Period(start, end, f"{day.year}-Q{(first_month + 2) // 3}")
    raise ValueError(f"unknown recurrence {every!r}; expected one of {', '.join(EVERY)}")


def periods(first: date, last: date, every: str) -> Iterator[Period]:
    """Every period from the one holding `first` to the one holding `last`, in order."""
    period = period_of(first, every)
    while period.start <= last:
        yield period
        period = period_after(period, every)


def period_after(period: Period, every: str) -> Period:
    return period_of(period.end + timedelta(days=1), every)


def _month_after(first_of_month: date) -> date:
    if first_of_month.month == 12:
        return date(first_of_month.year + 1, 1, 1)
    return date(first_of_month.year, first_of_month.month + 1, 1)
