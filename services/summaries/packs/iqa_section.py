"""The packs' IQA section as plain data (docs/contract.md section 9, "Added: IQA in the
monthly and quarterly packs"). Built by services/summaries/packs/iqa_build.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from services.summaries.iqa import DisclosureQuestion, IqaGroup
from services.summaries.model import Counts


@dataclass(frozen=True, slots=True)
class IqaManager:
    """One legal manager of the Area (or an assessor whose IQAs are the Area's)."""

    manager: str
    name: str | None
    iqas: int  # IQAs the manager assessed in the period (by assessed_date)
    quota: Counts  # iqa-quota obligations due in the period
    reassessment: Counts  # iqa-reassessment obligations of the manager's IQAs due in it
    reassessed: int
    lenient: int
    leniency_pct: float | None
    gap_pp: float | None


@dataclass(frozen=True, slots=True)
class IqaSection:
    """Quota and reassessment completion per manager, leniency and gap per manager, unit, the
    Area and nationally, and the Area's disclosure answers on their own."""

    kind: ClassVar[str] = "iqa"
    assessed: str  # the period whose IQAs the measures are over (a month or a quarter label)
    managers: Sequence[IqaManager]
    quota: Counts  # the Area's
    reassessment: Counts
    units: Sequence[IqaGroup]
    area: IqaGroup
    national: IqaGroup
    disclosure: Sequence[DisclosureQuestion]
