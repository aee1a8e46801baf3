"""Events from inspection follow-up: recommendations, the responses to them, and assessment."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from events.envelope import EventData, Id, IsoDate, field_error


def _number(value: object) -> int | str:
    # One error instead of pydantic's one-per-union-member, and no true-as-1.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value:
        return value
    raise PydanticCustomError("number", "expected a JSON integer or a non-empty string")


DEFAULT_RATINGS = ("achieved", "partially-achieved", "not-achieved", "no-longer-relevant")
# The follow-up rating words are a convention, not a published HMCPSI scale (domain notes), so
# the list is a setting (FOLLOWUP_RATINGS). Whoever validates events with the settings in hand
# (`followup publish`, dead-letter replay, the consumer) passes the list to `parse_event`,
# which hands it to pydantic as the validation context; without one, the contract's list.
RATINGS_CONTEXT = "ratings"


def _configured_rating(value: str, info: ValidationInfo) -> str:
    context = info.context
    allowed = context.get(RATINGS_CONTEXT, DEFAULT_RATINGS) if context else DEFAULT_RATINGS
    if value not in allowed:
        raise PydanticCustomError(
            "rating",
            "'{value}' is not one of the configured ratings ({allowed}); "
            "the list is set by FOLLOWUP_RATINGS",
            {"value": value, "allowed": ", ".join(allowed)},
        )
    return value


Rating = Annotated[
    str,
    AfterValidator(_configured_rating),
    WithJsonSchema(
        {
            "type": "string",
            "description": "one of the configured ratings (FOLLOWUP_RATINGS)",
            "examples": list(DEFAULT_RATINGS),
        }
    ),
]


RecommendationNumber = Annotated[
    int | str,
    PlainValidator(_number),
    WithJsonSchema({"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1}]}),
]


class InspectionPublished(EventData):
    """An inspection report was published, with its ratings per criterion when it has them."""

    type_name = "inspection-published"

    inspection_id: Id
    title: str
    kind: Literal["area-assurance", "thematic", "follow-up"]
    area: Id | None = None
    published_date: IsoDate
    ratings: dict[str, Literal["good", "fair", "poor"]] | None = None


class RecommendationIssued(EventData):
    """A recommendation or issue to address in a published inspection."""

    type_name = "recommendation-issued"

    inspection_id: Id
    recommendation_id: Id
    number: RecommendationNumber
    kind: Literal["recommendation", "issue-to-address"]
    text: str
    area: Id | None = None
    due_date: IsoDate | None = None
    # Added (docs/contract.md section 2): fields that are assumptions, not from the source.
    assumed: list[Literal["due_date", "area"]] | None = None


class ResponseCommitted(EventData):
    """An action promised in response: one-off by `due_date`, or recurring from `starts`."""

    type_name = "response-committed"

    recommendation_id: Id
    action_id: Id
    response: Literal["agreed", "partly-agreed", "not-agreed"]
    text: str
    owner: Id
    due_date: IsoDate | None = None
    recurrence: Literal["weekly", "monthly", "quarterly"] | None = None
    starts: IsoDate | None = None
    ends: IsoDate | None = None
    # Added (docs/contract.md section 2): fields that are assumptions, not from the source.
    assumed: list[Literal["response", "owner", "due_date", "starts", "ends"]] | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if self.due_date is not None and self.recurrence is not None:
            raise field_error("due_date", "give either due_date or recurrence, not both")
        if self.due_date is None and self.recurrence is None:
            raise field_error("due_date", "required unless recurrence is given")
        if self.recurrence is None:
            return self
        if self.starts is None:
            raise field_error("starts", "required with recurrence")
        if self.ends is not None and self.ends < self.starts:
            raise field_error("ends", "must not be before starts")
        return self


class ActionEvidenceRecorded(EventData):
    """Evidence (text or a URI) that a recurring action was done in a period."""

    type_name = "action-evidence-recorded"

    action_id: Id
    evidence: str
    recorded_by: Id
    recorded_date: IsoDate


class ActionCompleted(EventData):
    """An action was completed."""

    type_name = "action-completed"

    action_id: Id
    completed_date: IsoDate
    completed_by: Id


class FollowUpAssessed(EventData):
    """A follow-up inspection's rating of progress on a recommendation."""

    type_name = "follow-up-assessed"

    recommendation_id: Id
    rating: Rating
    assessed_by: Id
    assessed_date: IsoDate
    notes: str | None = None
