"""A digest as an email and as a webhook body: each obligation once, by rule, URN, due date
and reference; never a victim's or defendant's id (those live only in obligation ids)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.platform.mail import Email
from services.platform.text_safety import plain_text
from services.rules.calendar import LONDON


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
    *, digest_id: int, recipient: str, address: str, slot: datetime, lines: Sequence[Line]
) -> Email:
    groups = by_obligation(lines)
    lapsed = sum(1 for g in groups if any(not x.level.startswith("warning") for x in g))
    when = slot.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")
    subject = f"Followup: {len(groups)} obligation{'s' if len(groups) != 1 else ''} to act on"
    if lapsed:
        subject += f" ({lapsed} lapsed)"
    # Each value from event data (ids, rule, case, reason) is kept to its one line.
    who = plain_text(recipient)
    text = [f"Followup digest {digest_id} for {who}, {when} (Europe/London)", ""]
    for group in groups:
        first = group[0]
        case = f", case {plain_text(first.urn)}" if first.urn else ""
        text.append(
            f"- {plain_text(first.rule)}{case}, due {first.due.isoformat()} "
            f"[{plain_text(first.obligation_ref)}]"
        )
        for line in group:
            text.append(f"    {plain_text(describe(line.level))} (alert {line.alert_id})")
            if line.reason:
                text.append(f"    why you: {plain_text(line.reason)}")
        text.append(f"    acknowledge: followup alerts ack {group[-1].alert_id} --by {who}")
    return Email(
        to=address,
        subject=subject,
        text="\n".join(text) + "\n",
        message_id=f"<digest-{digest_id}@followup>",
        date=slot,
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
