"""Which model reads which (type, dataversion)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, TypeAdapter, WithJsonSchema, create_model

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
    VrrConcluded,
    VrrRequested,
)
from events.disclosure import DisclosureDecisionRecorded, UnusedMaterialServed
from events.envelope import Event, EventData, coerce_dataversion
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
from events.police_files import FileFeedbackSent, FileQualityAssessed
from events.trials import TrialOutcomeRecorded

# Contract order. To add v2 of a type, keep the v1 model here and add the v2 one beside it
# (`version = 2`) with a static `upcast_v1_v2(data: dict) -> dict`; parse_event should then
# upcast an older payload step by step before validating it, so consumers only see the latest
# version, as pyeventsourcing does.
_MODELS: tuple[type[EventData], ...] = (
    StaffUpdated,
    CaseRegistered,
    HearingUpdated,
    HearingRecordSheetUploaded,
    VictimLetterDue,
    VictimLetterSent,
    CustodyTimeLimitSet,
    CustodyTimeLimitEnded,
    CustodyTimeLimitReviewed,
    CaseFinalised,
    ComplaintReceived,
    ComplaintResponded,
    InspectionPublished,
    RecommendationIssued,
    ResponseCommitted,
    ActionEvidenceRecorded,
    ActionCompleted,
    FollowUpAssessed,
    VrrRequested,
    VrrConcluded,
    FinalisationChecked,
    SampledCheckReviewed,
    CaseReviewDue,
    CaseReviewed,
    CaseReallocated,
    TrialOutcomeRecorded,
    # Added: police file quality and the Disclosure Record Sheet (contract section 2).
    FileQualityAssessed,
    FileFeedbackSent,
    UnusedMaterialServed,
    DisclosureDecisionRecorded,
    # Added (docs/contract.md section 2, "Added event types: IQA")
    IqaCompleted,
    IqaReassessed,
)

ALL_TYPES: tuple[str, ...] = tuple(dict.fromkeys(model.type_name for model in _MODELS))
EVENT_TYPES: Mapping[tuple[str, int], type[EventData]] = MappingProxyType(
    {(model.type_name, model.version): model for model in _MODELS}
)


def data_model_for(type_name: str, version: int = 1) -> type[EventData]:
    """The model for `data` of this type and version, or EventRejected naming what is wrong."""
    model = EVENT_TYPES.get((type_name, version))
    if model is not None:
        return model
    if type_name not in ALL_TYPES:
        hint = difflib.get_close_matches(type_name, ALL_TYPES, n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        raise EventRejected("type", f"unknown event type {type_name!r}{suggestion}")
    raise EventRejected(
        "dataversion",
        f"unsupported dataversion {version} for {type_name!r} (latest: {_latest(type_name)})",
    )


def _typed_envelope(model: type[EventData]) -> type[Event]:
    # The envelope narrowed to one type: validating with it puts data errors at data.<field>,
    # and its JSON Schema is the whole event as that type's senders must write it.
    dataversion: Any = Annotated[
        _exactly(model.version),
        BeforeValidator(coerce_dataversion),
        WithJsonSchema({"enum": [model.version, str(model.version)]}),
    ]
    return create_model(
        f"{model.__name__}Event",
        __base__=Event,
        __doc__=f"A {model.type_name} event (CloudEvents 1.0, dataversion {model.version}).",
        type=(_exactly(model.type_name), ...),
        dataversion=(dataversion, model.version),
        data=(model, ...),
    )


def _exactly(value: object) -> Any:
    """`Literal[value]` for a value known only at run time."""
    return Literal[value]


_ENVELOPES: Mapping[tuple[str, int], type[Event]] = {
    key: _typed_envelope(model) for key, model in EVENT_TYPES.items()
}


# Every type's dataversion 1 envelope, told apart by `type`: one pydantic call that reads the
# JSON text and validates it, for parse_event's fast path. An event of another dataversion
# fails it (the envelope's dataversion is exactly 1) and goes the long way.
_FIRST: Any = Annotated[
    Union[tuple(m for (_, version), m in _ENVELOPES.items() if version == 1)],  # noqa: UP007
    Field(discriminator="type"),
]
FIRST_VERSIONS: TypeAdapter[Event] = TypeAdapter(_FIRST)


def event_model_for(type_name: str, version: int = 1) -> type[Event]:
    """The whole-event model for this type and version, or EventRejected naming what is wrong."""
    data_model_for(type_name, version)
    return _ENVELOPES[(type_name, version)]


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of a whole event of each type, in contract order."""
    return {name: _ENVELOPES[(name, _latest(name))].model_json_schema() for name in ALL_TYPES}


def _latest(type_name: str) -> int:
    return max(version for (name, version) in EVENT_TYPES if name == type_name)
