"""The outcome of a trial listed for hearing (an addition to the contract: see
docs/contract.md, section 2, "Added event types").

A trial is effective (it went ahead on the day), cracked (it ended on the day without a
trial: a late guilty plea, or the prosecution offered no evidence) or ineffective (it did not
go ahead and was relisted). A cracked or ineffective trial names its reason and to whom it
is attributable, as the courts' trial effectiveness records do.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from events.envelope import EventData, Id, IsoDate, field_error

TrialOutcome = Literal["effective", "cracked", "ineffective"]
Attribution = Literal["prosecution", "defence", "court", "other"]


class TrialOutcomeRecorded(EventData):
    """A trial's outcome on the day; the latest by `time` for a hearing stands."""

    type_name = "trial-outcome-recorded"

    urn: Id
    hearing_id: Id
    court_type: Literal["magistrates", "crown"]
    outcome: TrialOutcome
    reason: Annotated[str, Field(max_length=500)] | None = None
    attributable_to: Attribution | None = None
    trial_date: IsoDate
    area: Id | None = None

    @model_validator(mode="after")
    def _did_not_proceed_says_why(self) -> Self:
        if self.outcome == "effective":
            return self
        if self.reason is None or not self.reason.strip():
            raise field_error("reason", f"required when outcome is {self.outcome!r}")
        if self.attributable_to is None:
            raise field_error("attributable_to", f"required when outcome is {self.outcome!r}")
        return self
