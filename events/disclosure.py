"""Disclosure of unused material and the Disclosure Record Sheet (additions to the contract:
see docs/contract.md, section 2, "Added event types").

The prosecution serves unused material at a stage (initial disclosure, then continuing
disclosure); the disclosure decision is to be recorded on the Disclosure Record Sheet (HMCPSI
Area assurance, Thames and Chiltern, issue 8: "decisions are recorded on the Disclosure Record
Sheet where appropriate").
"""

from __future__ import annotations

from typing import Literal

from events.envelope import EventData, Id, IsoDate

DisclosureStage = Literal["initial", "continuing"]


class UnusedMaterialServed(EventData):
    """Unused material served on the defence at a disclosure stage."""

    type_name = "unused-material-served"

    urn: Id
    stage: DisclosureStage
    served_date: IsoDate
    served_by: Id | None = None


class DisclosureDecisionRecorded(EventData):
    """The disclosure decision at a stage recorded on the Disclosure Record Sheet."""

    type_name = "disclosure-decision-recorded"

    urn: Id
    stage: DisclosureStage
    recorded_by: Id
    recorded_date: IsoDate
