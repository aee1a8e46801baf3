"""When each alarm about an obligation falls due. Pure: dates in, dates out, no clock read.

Every alarm falls due at a London midnight, the start of a day:
- `warning-N`: the start of the working day N working days before the due date;
- `lapse`: the midnight ending the due date (contract section 3: lapsed once today is after it);
- `escalation-N`: the midnight ending the N-th working day after the due date, so the people
  told at the lapse have had N whole working days to act;
- `repeat-K`: a reminder of an unresolved lapse, every `every` working days after the lapse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from services.rules.calendar import LONDON, Calendar
from services.rules.pack import EscalationStep, Rule

Kind = Literal["warning", "lapse", "escalation", "repeat"]
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Step:
    """One alarm of one obligation: its level, the day at whose start it falls due, who hears."""

    level: str
    kind: Kind
    day: date
    roles: tuple[str, ...]
    days: int = 0  # working days before due (warning) or after the lapse (escalation, repeat)

    @property
    def at(self) -> datetime:
        return midnight(self.day)


@dataclass(frozen=True, slots=True)
class Template:
    """A step of a rule before it is applied to a due date: how its day follows from the due."""

    level: str
    kind: Kind
    roles: tuple[str, ...]
    days: int

    def day_for(self, due: date, calendar: Calendar) -> date:
        if self.kind == "warning":
            return calendar.working_days_before(due, self.days)
        if self.kind == "lapse":
            return due + _DAY
        return calendar.add_working_days(due, self.days).result + _DAY

    def step(self, due: date, calendar: Calendar) -> Step:
        return Step(self.level, self.kind, self.day_for(due, calendar), self.roles, self.days)


def midnight(day: date) -> datetime:
    """The London midnight starting `day` (UK clocks change at 01:00/02:00, never at 00:00)."""
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)


def london_day(instant: datetime) -> date:
    return instant.astimezone(LONDON).date()


def lapse_roles(rule: Rule) -> tuple[str, ...]:
    roles = next((s.to for s in rule.escalation if s.at == "lapse"), ("owner", "legal-manager"))
    return (*roles, "abm") if rule.business and "abm" not in roles else roles


def templates(rule: Rule) -> tuple[Template, ...]:
    """The rule's warnings, lapse and escalations, in the order they fall due."""
    found: list[Template] = []
    warned = _roles_at(rule.escalation, "warning")
    if warned:
        found += [Template(f"warning-{n}", "warning", warned, n) for n in rule.warnings]
    found.append(Template("lapse", "lapse", lapse_roles(rule), 0))
    found += [
        Template(f"escalation-{s.after}", "escalation", s.to, s.after)
        for s in sorted(rule.escalation, key=lambda s: s.after)
        if s.at == "after"
    ]
    return tuple(found)


def _roles_at(steps: Sequence[EscalationStep], at: str) -> tuple[str, ...]:
    return next((s.to for s in steps if s.at == at), ())


def steps_for(rule: Rule, due: date, calendar: Calendar) -> list[Step]:
    return [t.step(due, calendar) for t in templates(rule)]


def fallen_due(rule: Rule, due: date, calendar: Calendar, now: datetime) -> list[Step]:
    """Every step that has fallen due by `now`: a late-arriving or recalculated obligation, or
    one whose snooze ended, gets each alarm it would have had."""
    return [s for s in steps_for(rule, due, calendar) if s.at <= now]


def repeat_step(rule: Rule, due: date, k: int, every: int, calendar: Calendar) -> Step:
    """The k-th reminder (k >= 1) of an unresolved lapse, to the people told at the lapse."""
    day = calendar.add_working_days(due, k * every).result + _DAY
    return Step(f"repeat-{k}", "repeat", day, lapse_roles(rule), k * every)


def next_step(rule: Rule, due: date, calendar: Calendar, now: datetime, every: int) -> Step | None:
    """The next step after `now` that tells someone more than a warning does: the lapse, an
    escalation, or (once every escalation has fallen due) the next reminder, if reminders are
    on (`every` working days). What an alert digest names as "next"."""
    for step in steps_for(rule, due, calendar):
        if step.kind != "warning" and step.at > now:
            return step
    if every < 1:
        return None
    k = 1
    while (step := repeat_step(rule, due, k, every, calendar)).at <= now:
        k += 1
    return step


def days_starting_in(after: datetime, upto: datetime) -> tuple[date, date] | None:
    """The first and last London day whose starting midnight lies in (after, upto]."""
    first = london_day(after) + _DAY
    last = london_day(upto)
    return (first, last) if first <= last else None


def due_range(template: Template, days: tuple[date, date], calendar: Calendar) -> tuple[date, date]:
    """The due dates whose step of this template falls due on one of `days` (inclusive).

    A step's day never decreases as the due date grows, so the answer is one interval: the
    clock reads it with one index range scan per template instead of visiting every obligation.
    The interval may be empty (first > last).
    """
    first, last = days
    slack = timedelta(days=3 * template.days + 14)  # N working days span at most 3N + 14 days
    return (
        _first_due(lambda d: template.day_for(d, calendar) >= first, first - slack),
        _first_due(lambda d: template.day_for(d, calendar) > last, first - slack) - _DAY,
    )


def _first_due(holds: Callable[[date], bool], start: date) -> date:
    """The first date from `start` on for which the monotone test holds."""
    day = start
    while not holds(day):
        day += _DAY
    return day
