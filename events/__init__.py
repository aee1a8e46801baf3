"""The wire contract: every event type as a pydantic model, and the one way to parse raw input."""

from events.assurance import FinalisationChecked, SampledCheckReviewed
from events.casework import (
    CaseFinalised,
    CaseReallocated,
    CaseRegistered,
    CaseReviewDue,
    CaseReviewed,
    ComplaintReceived,
    ComplaintResponded,
    CustodyTimeLimitEnded,
    CustodyTimeLimitReviewed,
    CustodyTimeLimitSet,
    HearingRecordSheetUploaded,
    HearingUpdated,
    VictimLetterDue,
    VictimLetterSent,
)
from events.envelope import Event, EventData
from events.errors import EventRejected
from events.inspection import (
    ActionCompleted,
    ActionEvidenceRecorded,
    FollowUpAssessed,
    InspectionPublished,
    RecommendationIssued,
    ResponseCommitted,
)
from events.iqa import IqaCompleted, IqaReassessed
from events.organisation import StaffUpdated
from events.parsing import parse_event
from events.registry import ALL_TYPES, EVENT_TYPES, data_model_for, event_model_for, json_schemas
from events.trials import TrialOutcomeRecorded

__all__ = [
    "ALL_TYPES",
    "EVENT_TYPES",
    "ActionCompleted",
    "ActionEvidenceRecorded",
    "CaseFinalised",
    "CaseReallocated",
    "CaseRegistered",
    "CaseReviewDue",
    "CaseReviewed",
    "ComplaintReceived",
    "ComplaintResponded",
    "CustodyTimeLimitEnded",
    "CustodyTimeLimitReviewed",
    "CustodyTimeLimitSet",
    "Event",
    "EventData",
    "EventRejected",
    "FinalisationChecked",
    "FollowUpAssessed",
    "HearingRecordSheetUploaded",
    "HearingUpdated",
    "InspectionPublished",
    "IqaCompleted",
    "IqaReassessed",
    "RecommendationIssued",
    "ResponseCommitted",
    "SampledCheckReviewed",
    "StaffUpdated",
    "TrialOutcomeRecorded",
    "VictimLetterDue",
    "VictimLetterSent",
    "data_model_for",
    "event_model_for",
    "json_schemas",
    "parse_event",
]
