"""Events from case management: hearings, victims, custody time limits, complaints."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, model_validator

from events.envelope import EventData, Id, IsoDate, PlainInt, field_error, require_int

Stage = Annotated[Literal[1, 2], BeforeValidator(require_int)]


def _absent_as_zero(value: object) -> object:
    return 0 if value is None else value


class CaseRegistered(EventData):
    """A case and the reviewing lawyer who owns it."""

    type_name = "case-registered"

    urn: Id
    area: Id
    unit: Id
    owner: Id


class HearingUpdated(EventData):
    """A hearing listed, held, adjourned or vacated; the later `time` wins on conflict."""

    type_name = "hearing-updated"

    urn: Id
    hearing_id: Id
    court: str
    court_type: Literal["magistrates", "crown"]
    hearing_date: IsoDate
    status: Literal["listed", "held", "adjourned", "vacated"]
    advocate: Id | None = None


class HearingRecordSheetUploaded(EventData):
    """The hearing record sheet for a held hearing was uploaded."""

    type_name = "hearing-record-sheet-uploaded"

    urn: Id
    hearing_id: Id
    uploaded_by: Id
    uploaded_date: IsoDate


class VictimLetterDue(EventData):
    """A decision that obliges a letter to the victim; `enhanced` shortens the deadline."""

    type_name = "victim-letter-due"

    urn: Id
    victim_id: Id
    decision: Literal["no-charge", "discontinued", "charge-altered"]
    decision_date: IsoDate
    enhanced: bool


class VictimLetterSent(EventData):
    """The letter to the victim was sent."""

    type_name = "victim-letter-sent"

    urn: Id
    victim_id: Id
    sent_date: IsoDate


class CustodyTimeLimitSet(EventData):
    """A defendant's custody time limit began; `expires_on`, when given, overrides the sum."""

    type_name = "custody-time-limit-set"

    urn: Id
    defendant_id: Id
    limit: Literal["summary-56", "either-way-70", "crown-182"]
    custody_start: IsoDate
    prior_custody_days: Annotated[PlainInt, BeforeValidator(_absent_as_zero), Field(ge=0)] = 0
    expires_on: IsoDate | None = None


class CustodyTimeLimitEnded(EventData):
    """A custody time limit stopped running, or was extended to `new_expires_on`."""

    type_name = "custody-time-limit-ended"

    urn: Id
    defendant_id: Id
    reason: Literal["trial-started", "released", "extended", "case-finalised"]
    new_expires_on: IsoDate | None = None

    @model_validator(mode="after")
    def _extension_has_new_expiry(self) -> Self:
        if self.reason == "extended" and self.new_expires_on is None:
            raise field_error("new_expires_on", "required when reason is 'extended'")
        return self


class CustodyTimeLimitReviewed(EventData):
    """The custody time limit was reviewed ahead of expiry."""

    type_name = "custody-time-limit-reviewed"

    urn: Id
    defendant_id: Id
    reviewed_date: IsoDate
    reviewed_by: Id


class CaseFinalised(EventData):
    """A case concluded; an unsuccessful one lacking a reason code is tracked, not refused."""

    type_name = "case-finalised"

    urn: Id
    finalised_date: IsoDate
    outcome: str
    successful: bool
    unsuccessful_reason_code: str | None = None


class ComplaintReceived(EventData):
    """A complaint at stage 1 or 2 of the complaints process."""

    type_name = "complaint-received"

    complaint_id: Id
    area: Id
    received_date: IsoDate
    stage: Stage
    urn: Id | None = None


class ComplaintResponded(EventData):
    """The response to a complaint at the given stage was sent."""

    type_name = "complaint-responded"

    complaint_id: Id
    stage: Stage
    responded_date: IsoDate


VrrStage = Literal["local-resolution", "independent-review"]


class VrrRequested(EventData):
    """A victim asked for a review under the Victims' Right to Review scheme (added to v1)."""

    type_name = "vrr-requested"

    request_id: Id
    urn: Id
    victim_id: Id
    decision: Literal["no-charge", "discontinued", "no-evidence-offered"]
    decision_date: IsoDate
    requested_date: IsoDate
    stage: VrrStage = "local-resolution"


class VrrConcluded(EventData):
    """A stage of a Victims' Right to Review request was concluded (added to v1)."""

    type_name = "vrr-concluded"

    request_id: Id
    urn: Id
    stage: VrrStage
    outcome: Literal["upheld", "overturned", "withdrawn"]
    concluded_date: IsoDate


ReviewStage = Literal["magistrates-first-hearing", "crown-ptph", "magistrates-trial", "crown-trial"]


class CaseReviewDue(EventData):
    """A case falls due for review before a listed hearing (added to v1): before the first
    hearing in the magistrates' court, before the plea and trial preparation hearing in the
    Crown Court, or before trial. The court type is the stage's first word."""

    type_name = "case-review-due"

    urn: Id
    stage: ReviewStage
    hearing_id: Id


class CaseReviewed(EventData):
    """A case review at a stage was recorded (added to v1)."""

    type_name = "case-reviewed"

    urn: Id
    stage: ReviewStage
    reviewed_by: Id
    reviewed_date: IsoDate


class CaseReallocated(EventData):
    """A case moved to another owner, with the reason (added to v1): its open obligations
    and the ones opened later go to `new_owner`."""

    type_name = "case-reallocated"

    urn: Id
    new_owner: Id
    reason: Annotated[str, Field(min_length=1)]
    reallocated_by: Id | None = None
    reallocated_date: IsoDate

    @model_validator(mode="after")
    def _reason_says_something(self) -> Self:
        if not self.reason.strip():
            raise field_error("reason", "must say why the case was reallocated")
        return self
