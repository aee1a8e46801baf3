"""Small builders for contract-shaped CloudEvents, shared by the test suites."""

from __future__ import annotations

import itertools
import json
from typing import Any

_ids = itertools.count(1)
URN = "43TC0000117"
# Contract section 4, plus the Victims' Right to Review rule we added.
DEFAULT_RULE_IDS = frozenset(
    {
        "hearing-record-sheet",
        "victim-letter",
        "custody-time-limit",
        "ctl-28-day-review",
        "finalisation-reason-code",
        "complaint-response",
        "recommendation-action",
        "recurring-commitment",
        "victims-right-to-review",
        "assurance-sample",
        "case-review",
        # Added: police file quality and the Disclosure Record Sheet.
        "file-quality-feedback",
        "disclosure-record",
        # IQA (contract section 4, "Rules iqa-quota and iqa-reassessment")
        "iqa-quota",
        "iqa-reassessment",
    }
)


def event(
    type_: str,
    time: str,
    *,
    id_: str | None = None,
    source: str = "/cms/thames-and-chiltern",
    **data: Any,
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id_ or f"evt-{next(_ids)}",
        "source": source,
        "type": type_,
        "time": time,
        "subject": data.get("urn"),
        "datacontenttype": "application/json",
        "data": data,
    }


def case(
    urn: str = URN, *, time: str = "2018-01-02T09:00:00+00:00", owner: str = "P-1", **kw: Any
) -> dict[str, Any]:
    return event(
        "case-registered",
        time,
        urn=urn,
        area=kw.get("area", "thames-and-chiltern"),
        unit=kw.get("unit", "magistrates"),
        owner=owner,
    )


def hearing(
    status: str, hearing_date: str, *, time: str, urn: str = URN, hearing_id: str = "H1", **kw: Any
) -> dict[str, Any]:
    return event(
        "hearing-updated",
        time,
        id_=kw.pop("id_", None),
        urn=urn,
        hearing_id=hearing_id,
        court="Reading Magistrates' Court",
        court_type="magistrates",
        hearing_date=hearing_date,
        status=status,
        **kw,
    )


def sheet(
    uploaded_date: str, *, urn: str = URN, hearing_id: str = "H1", time: str | None = None
) -> dict[str, Any]:
    return event(
        "hearing-record-sheet-uploaded",
        time or f"{uploaded_date}T15:00:00+00:00",
        urn=urn,
        hearing_id=hearing_id,
        uploaded_by="A-1",
        uploaded_date=uploaded_date,
    )


def letter_due(
    decision_date: str,
    *,
    urn: str = URN,
    victim_id: str = "V1",
    enhanced: bool = False,
    time: str | None = None,
) -> dict[str, Any]:
    return event(
        "victim-letter-due",
        time or f"{decision_date}T12:00:00+00:00",
        urn=urn,
        victim_id=victim_id,
        decision="discontinued",
        decision_date=decision_date,
        enhanced=enhanced,
    )


def letter_sent(sent_date: str, *, urn: str = URN, victim_id: str = "V1") -> dict[str, Any]:
    return event(
        "victim-letter-sent",
        f"{sent_date}T16:00:00+00:00",
        urn=urn,
        victim_id=victim_id,
        sent_date=sent_date,
    )


def lines(*events: dict[str, Any]) -> list[str]:
    return [json.dumps(e) for e in events]
