"""A digest as an email and as a webhook body: each obligation once, most severe first.

The email is written for the person reading it (docs/contract.md, section 7, "The digest
email"): the rule's title, whose task it is, the case and what the opening event says of the
thing tracked, working days overdue, and the next step and whom it will reach; a custody time
limit in the digest is named in the subject. A victim's or defendant's id never appears: the
obligation's `ob-` reference stands for it (`followup explain` accepts it). A text part and an
HTML part; the HTML is a Jinja2 template with autoescape on. Links (open, acknowledge, snooze)
come from a `LinkMaker` the caller may give; without one, the items carry none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.alerts.delivery import digest_view as view
from services.alerts.delivery.digest_view import Item, ItemView, LinkMaker
from services.alerts.delivery.particulars import Particulars
from services.platform.mail import Email
from services.platform.text_safety import plain_text

log = logging.getLogger("followup.alerts.delivery")
TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Line:
    """One alert as a digest shows it."""

    alert_id: int
    obligation_ref: str
    rule: str
    urn: str | None
    due: date
    level: str
    reason: str | None


_ORDER = {"repeat": 0, "escalation": 1, "lapse": 2, "warning": 3}


def describe(level: str) -> str:
    kind, _, n = level.partition("-")
    if kind == "warning":
        return f"due in {n} working day{'s' if n != '1' else ''}"
    if kind == "lapse":
        return "LAPSED"
    if kind == "escalation":
        return f"ESCALATED: still open {n} working day{'s' if n != '1' else ''} after lapsing"
    return f"REMINDER {n}: lapse still unresolved"


def by_obligation(lines: Sequence[Line]) -> list[list[Line]]:
    """Alerts grouped per obligation (and due date), most severe obligation first."""
    groups: dict[tuple[str, date], list[Line]] = {}
    for line in lines:
        groups.setdefault((line.obligation_ref, line.due), []).append(line)

    def severity(group: list[Line]) -> tuple[int, date, str]:
        worst = min(_ORDER[g.level.partition("-")[0]] for g in group)
        return (worst, group[0].due, group[0].obligation_ref)

    return sorted((sorted(g, key=lambda x: x.alert_id) for g in groups.values()), key=severity)


def render_email(
    *,
    digest_id: int,
    recipient: str,
    address: str,
    slot: datetime,
    lines: Sequence[Line],
    recipient_name: str | None = None,
    particulars: Mapping[str, Particulars] | None = None,
    now: datetime | None = None,
    links: LinkMaker | None = None,
) -> Email:
    """`particulars` by obligation reference (particulars.load_particulars); `links` makes each
    item's links (label, url), none without it; `now` dates the message (else the slot)."""
    about = particulars or {}
    groups = by_obligation(lines)
    items = [_item(digest_id, recipient, g, about.get(g[0].obligation_ref), links) for g in groups]
    reader = plain_text(recipient_name or recipient)
    heading = (
        f"Followup: {_count(len(groups))} to act on for {reader}, {view.when(slot)} (Europe/London)"
    )
    text = [heading, ""]
    for number, item in enumerate(items, 1):
        text += _text(number, item)
    html = _environment().get_template("digest.html").render(heading=heading, items=items)
    return Email(
        to=address,
        subject=_subject(groups, about),
        text="\n".join(text),
        html=html,
        message_id=f"<digest-{digest_id}@followup>",
        date=now or slot,
    )


def _count(n: int) -> str:
    return f"{n} obligation{'s' if n != 1 else ''}"


def _subject(groups: list[list[Line]], about: Mapping[str, Particulars]) -> str:
    lapsed = sum(1 for g in groups if _lapsed(g))
    tail = f"{_count(len(groups))} to act on" + (f" ({lapsed} lapsed)" if lapsed else "")
    custody = sorted(
        (p.custody_expiry, g[0].urn or "-", _lapsed(g))
        for g in groups
        if (p := about.get(g[0].obligation_ref)) is not None and p.custody_expiry is not None
    )
    if not custody:
        return f"Followup: {tail}"
    expiry, urn, gone = custody[0]
    more = f" and {len(custody) - 1} more" if len(custody) > 1 else ""
    verb = "expired" if gone else "expires"
    return f"Custody time limit {verb} {expiry.isoformat()}: URN {urn}{more} - Followup: {tail}"


def _lapsed(group: Sequence[Line]) -> bool:
    return any(not x.level.startswith("warning") for x in group)


def _item(
    digest_id: int,
    recipient: str,
    group: Sequence[Line],
    about: Particulars | None,
    links: LinkMaker | None,
) -> ItemView:
    first, lapsed = group[0], _lapsed(group)
    item = Item(
        digest_id=digest_id,
        recipient=recipient,
        obligation_ref=first.obligation_ref,
        due=first.due,
        alert_ids=tuple(x.alert_id for x in group),
        levels=tuple(x.level for x in group),
    )
    given = list(links(item)) if links else []
    made = view.safe_links(given)
    if len(made) < len(given):
        log.warning("digest link dropped: not http(s)", extra={"digest_id": digest_id})
    return ItemView(
        title=plain_text(about.title if about else first.rule),
        case=view.case_line(first.urn, about),
        owner=view.owner_line(about),
        status=view.status_line(first.due, lapsed, about),
        lapsed=lapsed,
        next=view.next_line(about),
        alerts=tuple(f"{describe(x.level)} (alert {x.alert_id})" for x in group),
        reasons=tuple(plain_text(x.reason) for x in group if x.reason),
        reference=view.reference_line(first.obligation_ref, about),
        acknowledge=f"followup alerts ack {group[-1].alert_id} --by {plain_text(recipient)}",
        links=made,
    )


def _text(number: int, item: ItemView) -> list[str]:
    lines = [f"{number}. {item.title}"]
    lines += [f"   {item.case}"] if item.case else []
    lines += [
        f"   Whose task: {item.owner}",
        f"   {item.status}",
        f"   Next: {item.next}",
    ]
    lines += [f"   Alert: {alert}" for alert in item.alerts]
    lines += [f"   Why you: {reason}" for reason in item.reasons]
    lines += [f"   {item.reference}", f"   Acknowledge: {item.acknowledge}"]
    lines += [f"   {label}: {url}" for label, url in item.links]
    return [*lines, ""]


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template is HTML: event data is escaped whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_webhook(
    *, digest_id: int, recipient: str, slot: datetime, lines: Sequence[Line]
) -> dict[str, Any]:
    return {
        "digest_id": digest_id,
        "recipient": recipient,
        "slot": slot.isoformat(),
        "obligations": [
            {
                "obligation_ref": g[0].obligation_ref,
                "rule": g[0].rule,
                "urn": g[0].urn,
                "due": g[0].due.isoformat(),
                "alerts": [
                    {"alert_id": x.alert_id, "level": x.level, "reason": x.reason} for x in g
                ],
            }
            for g in by_obligation(lines)
        ],
    }
