"""Plain English for the ids the pages would otherwise show: roles, Areas and units, alert
levels and states, so a reader meets "Legal manager" and "Reminder", never `legal-manager` or
`repeat-148` (docs/contract.md section 12, "Pages"). Pure; registered as template filters."""

from __future__ import annotations

import re
from datetime import date, datetime

from services.rules.calendar import LONDON

ROLES = {
    "prosecutor": "Prosecutor",
    "legal-manager": "Legal manager",
    "unit-head": "Unit head",
    "dccp": "DCCP",
    "ccp": "CCP",
    "abm": "Area Business Manager",
    "hq": "HQ",
    "inspector": "Inspector",
    "owner": "owner",
}
ALERT_STATES = {
    "pending": "Waiting to be sent",
    "sent": "Sent",
    "acknowledged": "Acknowledged",
    "snoozed": "Snoozed",
    "withdrawn": "Withdrawn: met or changed",
    "failed": "Not delivered",
}
_NUMBERED = re.compile(r"^(warning|escalation|repeat)-(\d+)$")


def role_label(role: str | None) -> str:
    if not role:
        return ""
    return ROLES.get(role, role.replace("-", " ").capitalize())


def place_label(place: str | None) -> str:
    """An Area or unit id as a name: `mersey-cheshire` -> "Mersey Cheshire"; HQ and HMCPSI
    stay capitals."""
    if not place:
        return ""
    if place in ("hq", "hmcpsi"):
        return place.upper()
    return " ".join(word.capitalize() for word in place.split("-"))


def level_label(level: str) -> str:
    """An alert level: `lapse`, `warning-3`, `escalation-2`, `repeat-148`."""
    if level == "lapse":
        return "Lapse alert"
    found = _NUMBERED.match(level)
    if found is None:
        return level.replace("-", " ").capitalize()
    kind, n = found.group(1), int(found.group(2))
    days = f"{n} working day{'' if n == 1 else 's'}"
    if kind == "warning":
        return f"Warning, {days} before the due date"
    if kind == "escalation":
        return f"Escalation, {days} after the lapse"
    return "Reminder"


def alert_state_label(state: str) -> str:
    return ALERT_STATES.get(state, state.capitalize())


def day_label(value: date | datetime | str | None) -> str:
    """A date as people write it, "Mon 8 Jan 2024"; a time of day too when it has one."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
        return day_label(parsed)
    if isinstance(value, datetime):
        at = value.astimezone(LONDON) if value.tzinfo else value
        return f"{at:%a} {at.day} {at:%b %Y %H:%M}"
    return f"{value:%a} {value.day} {value:%b %Y}"


_RULE_ID = re.compile(r" \[[a-z0-9-]+\]")
_FIELD = re.compile(r"\b([a-z]+)_([a-z_]+)\b")


def explanation_label(text: str) -> str:
    """The date's working-out without the rule's id, its fields in words: "decision date
    2024-01-05 + 1 working day", the event it came from kept for the record."""
    text = _RULE_ID.sub("", text)
    return _FIELD.sub(lambda m: m.group(0).replace("_", " "), text)


def escalation_label(text: str | None) -> str:
    """The summaries' "escalation-3: dccp, unit-head" as "Escalation, 3 working days after
    the lapse, to DCCP, Unit head"; "" for none."""
    if not text:
        return ""
    level, _, roles = text.partition(": ")
    told = ", ".join(role_label(r) for r in roles.split(", ") if r)
    return f"{level_label(level)}, to {told}" if told else level_label(level)
