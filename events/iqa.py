"""Events of Individual Quality Assessments (IQAs): a legal manager's assessment of a
prosecutor's casework, and its reassessment by a senior manager or an inspector (additions to
the contract: see docs/contract.md, section 2, "Added event types: IQA").

The rating scale is ordered, most favourable first (RATINGS); "meeting the standard" is
`fully-met` (STANDARD_MET). Disclosure questions are the answers whose id starts
`disclosure-` (HMCPSI IQA inspection: disclosure needs questions of its own).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from events.envelope import EventData, Id, IsoDate

Rating = Literal["fully-met", "partially-met", "not-met"]
RATINGS: tuple[Rating, ...] = ("fully-met", "partially-met", "not-met")  # best first
STANDARD_MET: frozenset[str] = frozenset({"fully-met"})
DISCLOSURE_PREFIX = "disclosure-"

Stage = Literal["advice", "charging-and-review", "case-progression"]
QuestionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Answer = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class IqaCompleted(EventData):
    """A legal manager assessed a prosecutor's casework on one case at one stage."""

    type_name = "iqa-completed"

    iqa_id: Id
    urn: Id
    stage: Stage
    assessor: Id  # the legal manager
    prosecutor: Id  # the prosecutor assessed
    assessed_date: IsoDate
    answers: dict[QuestionId, Answer] = {}
    rating: Rating
    area: Id | None = None  # else the assessor's


class IqaReassessed(EventData):
    """A senior manager or an inspector assessed the same casework again.

    `assessor` and `assessed_date` repeat the IQA's own, so the reassessment reaches the
    month's sample it closes (as sampled-check-reviewed repeats `checked_by` and
    `checked_date`)."""

    type_name = "iqa-reassessed"

    iqa_id: Id
    assessor: Id
    assessed_date: IsoDate
    reassessed_by: Id
    role: Literal["senior-manager", "inspector"]
    reassessed_date: IsoDate
    rating: Rating
    answers: dict[QuestionId, Answer] | None = None
