"""A digest item as its reader sees it: each line of one obligation, written out once for the
text part and the HTML part of the email (docs/contract.md, section 7, "The digest email").

Pure. Every value from event data, the rule pack or the org chart is kept to one line here
(`plain_text`); the HTML template escapes it besides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.alerts.delivery.particulars import Next, Particulars, Person
from services.platform.text_safety import plain_text
from services.rules.calendar import LONDON

Link = tuple[str, str]  # (label, url)


@dataclass(frozen=True, slots=True)
class Item:
    """One obligation in one recipient's digest: what a link maker needs to make its links
    (open it, acknowledge, snooze), bound to this recipient and these alerts."""

    digest_id: int
    recipient: str  # staff id
    obligation_ref: str
    due: date
    alert_ids: tuple[int, ...]
    levels: tuple[str, ...]


LinkMaker = Callable[[Item], Sequence[Link]]


@dataclass(frozen=True, slots=True)
class ItemView:
    title: str
    case: str | None  # the case and what the opening event says of the thing tracked
    owner: str
    status: str
    lapsed: bool
    next: str
    alerts: tuple[str, ...]
    reasons: tuple[str, ...]
    reference: str  # "Defendant reference: ob-..."
    acknowledge: str
    links: tuple[Link, ...]


_ROLES = {"dccp": "DCCP", "ccp": "CCP", "abm": "ABM"}


def role_name(role: str) -> str:
    return _ROLES.get(role, role.replace("-", " "))


def _day(day: date) -> str:
    return f"{day:%a %d %b %Y}"


def who(person: Person) -> str:
    return plain_text(f"{person.name} ({role_name(person.role)})")


def owner_line(about: Particulars | None) -> str:
    if about is None or about.owner_id is None:
        return "no owner on record"
    if about.owner is None:
        return plain_text(f"{about.owner_id} (not on record)")
    return who(about.owner)


def case_line(urn: str | None, about: Particulars | None) -> str | None:
    parts = [f"Case {urn}"] if urn else []
    parts += [f"{label} {value}" for label, value in (about.details if about else ())]
    line = plain_text("; ".join(parts))
    return line[:1].upper() + line[1:] if line else None


def status_line(due: date, lapsed: bool, about: Particulars | None) -> str:
    expiry = about.custody_expiry if about else None
    if expiry is not None:
        said = f"Custody time limit {'expired' if lapsed else 'expires'} {_day(expiry)}"
    else:
        said = f"Due {_day(due)}"
    overdue = about.overdue if about else None
    if lapsed and overdue is not None:
        said += f": LAPSED, {overdue} working day{'s' if overdue != 1 else ''} overdue"
    elif lapsed:
        said += ": LAPSED"
    return said


def next_line(about: Particulars | None) -> str:
    if about is None:
        return "not known (the obligation has changed since)"
    if about.stopped:
        return "none: escalation stopped by an acknowledgement"
    step = about.next
    if step is None:
        return "nothing further is scheduled"
    return _next(step)


def _next(step: Next) -> str:
    if step.kind == "lapse":
        what = "lapse"
    elif step.kind == "escalation":
        what = (
            f"escalation ({step.days} working day{'s' if step.days != 1 else ''} after the lapse)"
        )
    else:
        what = "reminder"
    people = ", ".join(who(p) for p in step.people) or "nobody on record"
    said = f"{what} on {_day(step.on)} to {people}"
    if step.held_until is not None:
        said += f", held by a snooze until {step.held_until.astimezone(LONDON):%a %d %b %Y %H:%M}"
    return said


def reference_line(ref: str, about: Particulars | None) -> str:
    stands_for = about.stands_for if about else None
    label = f"{stands_for.capitalize()} reference" if stands_for else "Reference"
    return f"{label}: {plain_text(ref)}"


def safe_links(links: Sequence[Link]) -> tuple[Link, ...]:
    """Only http(s) addresses, each kept to one line: a link is a button a reader presses."""
    return tuple(
        (plain_text(label), plain_text(url))
        for label, url in links
        if url.startswith(("https://", "http://"))
    )


def when(slot: datetime) -> str:
    return slot.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")
