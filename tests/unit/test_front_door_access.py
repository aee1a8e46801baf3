"""Who may record follow-up, which weekly summary each role reads, and the form fields that
become events (docs/contract.md section 12, "Area and inspection pages"). Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

import pytest
from fastapi import HTTPException

from events import parse_event
from services.access.follow_up import may_assess, may_record_action
from services.access.principal import Principal
from services.access.scope import NATIONAL, Person, people_by_id, scope_of
from services.audit.web_events import (
    FormRefused,
    date_field,
    envelope,
    publish_follow_up,
    text_field,
)
from services.entrypoints.http.summary_access import area_choice, summary_choice
from services.summaries.model import Scope as SummaryScope

PEOPLE = people_by_id(
    [
        Person("P1", "P", "p@x", "prosecutor", "tc", "crown", "LM"),
        Person("P2", "Q", "q@x", "prosecutor", "tc", "crown", "LM2"),
        Person("LM", "L", "l@x", "legal-manager", "tc", "crown", "UH"),
        Person("LM2", "M", "m@x", "legal-manager", "tc", "mags", None),
        Person("UH", "U", "u@x", "unit-head", "tc", "crown", None),
        Person("DCCP", "D", "d@x", "dccp", "tc"),
        Person("CCP", "C", "c@x", "ccp", "tc"),
        Person("ABM", "A", "a@x", "abm", "tc"),
        Person("WM", "W", "w@x", "dccp", "wm"),
        Person("HQ", "H", "h@x", "hq", "hq"),
        Person("INS", "I", "i@x", "inspector", "hmcpsi"),
    ]
)


def _may_record(staff_id: str, area: str | None = "tc") -> bool:
    return may_record_action(PEOPLE[staff_id], owner="P1", area=area, people=PEOPLE)


def test_the_owner_their_line_the_areas_leaders_and_hq_record_an_action() -> None:
    allowed = {s for s in PEOPLE if _may_record(s)}
    assert allowed == {"P1", "LM", "UH", "DCCP", "CCP", "ABM", "HQ"}
    # A national recommendation: the leaders of the owner's Area.
    assert {s for s in PEOPLE if _may_record(s, area=None)} == allowed


def test_hq_or_the_areas_dccp_or_ccp_assess_and_inspectors_never_record() -> None:
    assert {s for s in PEOPLE if may_assess(PEOPLE[s], area="tc")} == {"DCCP", "CCP", "HQ"}
    assert {s for s in PEOPLE if may_assess(PEOPLE[s], area=None)} == {"HQ"}
    assert not _may_record("INS") and not may_assess(PEOPLE["INS"], area="tc")


def _principal(staff_id: str | None) -> Principal:
    if staff_id is None:
        return Principal(1, "api-token", NATIONAL, system="monitor", grants="read")
    person = PEOPLE[staff_id]
    return Principal(1, "api-token", scope_of(person, PEOPLE), person=person)


def _choice(staff_id: str | None, **asked: Any) -> SummaryScope | None:
    asked = {"area": None, "unit": None, "team": None, **asked}
    return summary_choice(_principal(staff_id), **asked).scope


def _refused(staff_id: str | None, **asked: Any) -> int:
    with pytest.raises(HTTPException) as refused:
        _choice(staff_id, **asked)
    return refused.value.status_code


def test_each_role_reads_its_own_summary() -> None:
    assert _choice("DCCP") == SummaryScope("tc")
    assert _choice("DCCP", unit="crown", team="LM") == SummaryScope("tc", "crown", "LM")
    assert _choice("UH") == SummaryScope("tc", unit="crown")
    assert _choice("LM") == SummaryScope("tc", manager="LM")
    assert _choice("HQ") is None and _choice(None) is None  # any Area: offer the list
    assert _choice("HQ", area="wm", team="X") == SummaryScope("wm", manager="X")
    inspector = summary_choice(_principal("INS"), area="wm", unit=None, team=None)
    assert inspector.scope == SummaryScope("wm") and inspector.area_level_only


def test_outside_the_scope_is_not_found_and_no_summary_role_forbidden() -> None:
    assert _refused("DCCP", area="wm") == 404
    assert _refused("LM", team="LM2") == 404
    assert _refused("LM", unit="crown") == 404
    assert _refused("UH", unit="mags") == 404
    assert _refused("P1") == 403
    assert _refused("INS", area="tc", unit="crown") == 403


def test_the_area_page_is_for_area_leaders_and_national_readers() -> None:
    assert area_choice(_principal("ABM"), area=None) == "tc"
    assert area_choice(_principal("HQ"), area=None) is None
    assert area_choice(_principal("HQ"), area="wm") == "wm"
    for staff_id, status in (("WM", 404), ("LM", 403), ("INS", 403), ("P1", 403)):
        with pytest.raises(HTTPException) as refused:
            area_choice(_principal(staff_id), area="tc")
        assert refused.value.status_code == status, staff_id


def test_form_fields_are_checked_before_any_event() -> None:
    today = date(2024, 1, 10)
    assert date_field("d", " 2024-01-10 ", today=today) == "2024-01-10"
    for bad in ("", "2024-1-9", "20240109", "2024-02-30", "2024-W02-1", "2024-01-11"):
        with pytest.raises(FormRefused):
            date_field("d", bad, today=today)
    assert text_field("notes", "  ", required=False) is None
    assert text_field("evidence", " a link ") == "a link"
    with pytest.raises(FormRefused, match="must not be empty"):
        text_field("evidence", "\n")
    with pytest.raises(FormRefused, match="at most 4000"):
        text_field("evidence", "x" * 4001)


async def test_an_event_the_consumer_would_refuse_is_not_published() -> None:
    class NoRedis:
        def pipeline(self, **_: Any) -> None:
            raise AssertionError("nothing may be published")

    with pytest.raises(FormRefused) as refused:
        await publish_follow_up(
            redis=cast(Any, NoRedis()),
            stream="s",
            type_="follow-up-assessed",
            data={
                "recommendation_id": "R1",
                "rating": "excellent",
                "assessed_by": "HQ",
                "assessed_date": "2024-01-09",
            },
            now=datetime(2024, 1, 10, tzinfo=UTC),
        )
    assert refused.value.field == "rating"
    assert "not one of the configured ratings" in refused.value.reason


def test_the_envelope_is_a_valid_cloudevent_with_a_fresh_id() -> None:
    now = datetime(2024, 1, 10, 9, 30, tzinfo=UTC)
    data = {"action_id": "A1", "completed_date": "2024-01-09", "completed_by": "P1"}
    first, second = (envelope(type_="action-completed", data=data, now=now) for _ in range(2))
    assert first["id"] != second["id"] and first["id"].startswith("web-")
    parsed = parse_event(first)
    assert (parsed.source, parsed.type, parsed.time) == ("/followup/web", "action-completed", now)
