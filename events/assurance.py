"""Events of the Area's own assurance checks (additions to the contract: see
docs/contract.md, section 2, "Added event types").

A legal manager checks that a case was finalised correctly on CMS; each month a share of those
checks is sampled for a senior manager to check again (the "10% check of managers' checks",
HMCPSI CMS finalisations inspection 2017, recommendation 4).
"""

from __future__ import annotations

from typing import Literal

from events.envelope import EventData, Id, IsoDate


class FinalisationChecked(EventData):
    """A legal manager checked that a case's finalisation was recorded correctly."""

    type_name = "finalisation-checked"

    urn: Id
    checked_by: Id  # the legal manager
    checked_date: IsoDate
    area: Id | None = None


class SampledCheckReviewed(EventData):
    """A senior manager checked again a manager's finalisation check drawn in the sample."""

    type_name = "sampled-check-reviewed"

    urn: Id
    checked_by: Id  # the legal manager whose check was sampled
    checked_date: IsoDate  # the date of that check: names the month of the sample
    reviewed_by: Id
    reviewed_date: IsoDate
    outcome: Literal["confirmed", "corrected"] | None = None
