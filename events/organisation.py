"""Events about the organisation: who works where and who manages whom."""

from __future__ import annotations

from typing import Literal

from events.envelope import EventData, Id

Role = Literal[
    "prosecutor",
    "paralegal",
    "advocate",
    "legal-manager",
    "unit-head",
    "dccp",
    "ccp",
    "abm",
    "hq",
    "inspector",
]


class StaffUpdated(EventData):
    """A staff member's details; a later event for the same staff_id replaces earlier ones."""

    type_name = "staff-updated"

    staff_id: Id
    name: str
    email: str
    role: Role
    area: Id
    unit: Id | None = None
    line_manager: Id | None = None
