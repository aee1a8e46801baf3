"""Police file feedback and the Disclosure Record Sheet in the pure engine (contract section 2
"Added event types" and section 4 "Added rules"): held-back histories with due dates worked out
by hand, in every arrival order."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pytest

from events.errors import EventRejected
from events.parsing import parse_event
from services.alerts.clock.schedule import steps_for
from services.rules.calendar import Calendar
from services.rules.ledger import Ledger
from services.rules.model import Fact, ObligationDraft
from services.rules.packfile import load_pack
from tests.factories import event

CAL = Calendar()
RULES = load_pack()
TODAY = date(2026, 12, 1)
URN, OTHER = "42EE0026001", "42EE0026002"
_ids = itertools.count(1)


def ev(type_: str, time: str, **data: Any) -> Fact:
    """An event at `time` (a bare date means 10:00 UTC)."""
    when = datetime.fromisoformat(time if "T" in time else f"{time}T10:00:00+00:00")
    return Fact("/cms/ee", f"f{next(_ids)}", type_, when, data)


def registered(urn: str = URN, owner: str = "P-1", area: str = "east-of-england") -> Fact:
    return ev("case-registered", "2026-10-01", urn=urn, area=area, unit="magistrates",
              owner=owner)  # fmt: skip


def assessed(on: str, *, file_id: str = "F1", met: bool = False, urn: str = URN, **kw: Any) -> Fact:
    data: dict[str, Any] = {
        "file_id": file_id,
        "urn": urn,
        "force": kw.pop("force", "essex"),
        "stage": kw.pop("stage", "first-hearing"),
        "standard_met": met,
        "failings": kw.pop("failings", [] if met else ["missing-mg6"]),
        "assessed_by": kw.pop("assessed_by", "P-2"),
        "assessed_date": on,
        **kw,
    }
    return ev("file-quality-assessed", on, **data)


def feedback(on: str, file_id: str = "F1") -> Fact:
    return ev("file-feedback-sent", on, file_id=file_id, force="essex", sent_by="P-2",
              sent_date=on)  # fmt: skip


def served(on: str, stage: str = "initial", urn: str = URN) -> Fact:
    return ev("unused-material-served", on, urn=urn, stage=stage, served_date=on)


def recorded(on: str, stage: str = "initial", urn: str = URN) -> Fact:
    return ev("disclosure-decision-recorded", on, urn=urn, stage=stage, recorded_by="P-1",
              recorded_date=on)  # fmt: skip


def run(batches: Iterable[Iterable[Fact]]) -> dict[str, ObligationDraft]:
    ledger = Ledger(RULES, CAL)
    for batch in batches:
        ledger.apply(batch, today=TODAY)
    return {d.id: d for d in ledger.obligations()}


def every_order(facts: Sequence[Fact]) -> dict[str, ObligationDraft]:
    """The end state, the same in every arrival order (one at a time and in one batch)."""
    found = run([f] for f in facts)
    for order in itertools.permutations(facts):
        assert run([f] for f in order) == found
    assert run([facts]) == found
    return found


# --- file-quality-feedback -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assessed_on", "due"),
    [
        ("2026-11-02", date(2026, 11, 9)),  # Monday + 5 working days: the next Monday
        ("2026-11-27", date(2026, 12, 4)),  # Friday + 5: the next Friday
        # Tuesday 22 Dec: Christmas Day and Boxing Day (observed Monday 28) skipped.
        ("2026-12-22", date(2026, 12, 31)),
    ],
)
def test_a_failed_file_needs_feedback_five_working_days_after_assessment(
    assessed_on: str, due: date
) -> None:
    found = every_order([registered(), assessed(assessed_on)])
    ob = found["file-quality-feedback/F1"]
    assert (ob.due, ob.owner, ob.area, ob.urn, ob.key) == (
        due,
        "P-2",  # the assessor, not the case owner P-1
        "east-of-england",  # the case's area: the assessment named none
        URN,
        "F1",
    )
    assert ob.state == "open"
    assert f"assessed_date {assessed_on}" in ob.explanation


def test_a_file_meeting_the_standard_opens_nothing() -> None:
    assert every_order([registered(), assessed("2026-11-02", met=True)]) == {}


def test_feedback_on_or_before_due_is_met_after_is_met_late_another_file_leaves_it_open() -> None:
    base = [registered(), assessed("2026-11-02")]
    on_time = every_order([*base, feedback("2026-11-09")])["file-quality-feedback/F1"]
    late = every_order([*base, feedback("2026-11-10")])["file-quality-feedback/F1"]
    other = every_order([*base, feedback("2026-11-03", file_id="F2")])
    assert (on_time.state, on_time.closed_on) == ("met", date(2026, 11, 9))
    assert (late.state, late.closed_on) == ("met-late", date(2026, 11, 10))
    assert other["file-quality-feedback/F1"].state == "open"
    assert set(other) == {"file-quality-feedback/F1"}  # feedback alone opens nothing


def test_feedback_sent_before_the_assessment_arrives_closes_it_and_the_area_given_stands() -> None:
    facts = [feedback("2026-11-04"), assessed("2026-11-02", area="thames-and-chiltern")]
    ob = every_order([registered(), *facts])["file-quality-feedback/F1"]
    assert (ob.state, ob.area) == ("met", "thames-and-chiltern")
    # Without the case registered, the obligation has the assessor and the given area.
    alone = every_order(facts)["file-quality-feedback/F1"]
    assert (alone.owner, alone.area) == ("P-2", "thames-and-chiltern")


def test_two_failed_files_are_two_obligations() -> None:
    facts = [registered(), assessed("2026-11-02"), assessed("2026-11-03", file_id="F2")]
    found = every_order(facts)
    assert {k: (d.due, d.state) for k, d in found.items()} == {
        "file-quality-feedback/F1": (date(2026, 11, 9), "open"),
        "file-quality-feedback/F2": (date(2026, 11, 10), "open"),
    }


def test_a_corrected_assessment_date_recalculates_the_same_obligation() -> None:
    first = assessed("2026-11-02")
    corrected = ev("file-quality-assessed", "2026-11-03", **{**first.data,
                   "assessed_date": "2026-11-03"})  # fmt: skip
    found = every_order([registered(), first, corrected])
    assert {k: d.due for k, d in found.items()} == {"file-quality-feedback/F1": date(2026, 11, 10)}


# --- disclosure-record -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("served_on", "due"),
    [
        ("2026-11-03", date(2026, 11, 5)),  # Tuesday + 2 working days: Thursday
        ("2026-11-06", date(2026, 11, 10)),  # Friday + 2: Tuesday
        ("2026-12-24", date(2026, 12, 30)),  # Thursday 24 Dec: 25 and 28 Dec skipped
    ],
)
def test_the_decision_is_due_on_the_sheet_two_working_days_after_service(
    served_on: str, due: date
) -> None:
    ob = every_order([registered(), served(served_on)])[f"disclosure-record/{URN}/initial"]
    assert (ob.due, ob.state, ob.owner, ob.area, ob.key) == (
        due,
        "open",
        "P-1",  # the case owner
        "east-of-england",
        f"{URN}/initial",
    )
    assert f"served_date {served_on}" in ob.explanation


def test_recorded_on_time_late_or_at_another_stage() -> None:
    base = [registered(), served("2026-11-03")]
    ob_id = f"disclosure-record/{URN}/initial"
    on_time = every_order([*base, recorded("2026-11-05")])[ob_id]
    late = every_order([*base, recorded("2026-11-06")])[ob_id]
    # The decision recorded the day before service (recorded, then served) is on time.
    before = every_order([*base, recorded("2026-11-02")])[ob_id]
    other = every_order([*base, recorded("2026-11-04", stage="continuing")])
    assert (on_time.state, late.state, before.state) == ("met", "met-late", "met")
    assert late.closed_on == date(2026, 11, 6)
    assert {k: d.state for k, d in other.items()} == {ob_id: "open"}


def test_initial_and_continuing_disclosure_of_two_cases_are_four_obligations() -> None:
    facts = [
        registered(),
        registered(OTHER, owner="P-3", area="thames-and-chiltern"),
        served("2026-11-03"),
        served("2026-11-17", stage="continuing"),
        served("2026-11-04", urn=OTHER),
        served("2026-11-18", stage="continuing", urn=OTHER),
        recorded("2026-11-19", stage="continuing"),
    ]
    found = every_order(facts)
    assert {k: (d.due, d.state, d.owner) for k, d in found.items()} == {
        f"disclosure-record/{URN}/initial": (date(2026, 11, 5), "open", "P-1"),
        f"disclosure-record/{URN}/continuing": (date(2026, 11, 19), "met", "P-1"),
        f"disclosure-record/{OTHER}/initial": (date(2026, 11, 6), "open", "P-3"),
        f"disclosure-record/{OTHER}/continuing": (date(2026, 11, 20), "open", "P-3"),
    }


def test_a_reallocated_case_moves_its_open_disclosure_record() -> None:
    moved = ev("case-reallocated", "2026-11-04", urn=URN, new_owner="P-9", reason="leave",
               reallocated_date="2026-11-04")  # fmt: skip
    found = every_order([registered(), served("2026-11-03"), moved])
    assert found[f"disclosure-record/{URN}/initial"].owner == "P-9"


# --- the wire -------------------------------------------------------------------------------


def wire(type_: str, **data: Any) -> str:
    return json.dumps(event(type_, "2026-11-02T10:00:00+00:00", **data))


FILE = {
    "file_id": "F1",
    "urn": URN,
    "force": "essex",
    "stage": "pre-charge",
    "standard_met": False,
    "failings": ["missing-statements", "late"],
    "assessed_by": "P-2",
    "assessed_date": "2026-11-02",
}


def test_the_four_events_parse() -> None:
    assert parse_event(wire("file-quality-assessed", **FILE)).data.failings == [  # type: ignore[attr-defined]
        "missing-statements",
        "late",
    ]
    parse_event(wire("file-feedback-sent", file_id="F1", force="essex", sent_by="P-2",
                     sent_date="2026-11-03"))  # fmt: skip
    parse_event(wire("unused-material-served", urn=URN, stage="continuing",
                     served_date="2026-11-03"))  # fmt: skip
    parse_event(wire("disclosure-decision-recorded", urn=URN, stage="initial",
                     recorded_by="P-1", recorded_date="2026-11-03"))  # fmt: skip


@pytest.mark.parametrize(
    ("type_", "data", "message"),
    [
        ("file-quality-assessed", {**FILE, "failings": []},
         "data.failings: required (at least one) when standard_met is false"),
        ("file-quality-assessed", {k: v for k, v in FILE.items() if k != "failings"},
         "data.failings: required (at least one) when standard_met is false"),
        ("file-quality-assessed", {**FILE, "failings": ["smudged"]}, "data.failings.0"),
        ("file-quality-assessed", {**FILE, "stage": "trial"}, "data.stage"),
        ("file-quality-assessed", {**FILE, "standard_met": "no"}, "data.standard_met"),
        ("unused-material-served", {"urn": URN, "stage": "final", "served_date": "2026-11-03"},
         "data.stage"),
        ("disclosure-decision-recorded", {"urn": URN, "stage": "initial", "recorded_by": "P-1"},
         "data.recorded_date"),
    ],
)  # fmt: skip
def test_bad_events_are_refused_naming_the_field(
    type_: str, data: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventRejected, match=re.escape(message)):
        parse_event(wire(type_, **data))


# --- alert escalation (contract section 7, "Rule pack: escalation and business") --------------


def test_file_feedback_escalates_to_the_unit_head_and_copies_the_abm() -> None:
    rules = {r.id: r for r in RULES}
    # Due Friday 4 December 2026: warned Wednesday 2; lapses at the midnight ending the 4th;
    # 3 working days after the due date is Wednesday 9, so the unit head hears at its end.
    steps = {s.level: (s.day, s.roles) for s in
             steps_for(rules["file-quality-feedback"], date(2026, 12, 4), CAL)}  # fmt: skip
    assert steps == {
        "warning-2": (date(2026, 12, 2), ("owner",)),
        "lapse": (date(2026, 12, 5), ("owner", "legal-manager", "abm")),  # business: the ABM
        "escalation-3": (date(2026, 12, 10), ("unit-head",)),
    }


def test_disclosure_record_escalates_up_the_legal_chain_over_the_new_year() -> None:
    rules = {r.id: r for r in RULES}
    # Due Wednesday 30 December 2026; New Year's Day 2027 is a bank holiday: +1 working day is
    # Thursday 31, +3 is Tuesday 5 January.
    steps = {s.level: (s.day, s.roles) for s in
             steps_for(rules["disclosure-record"], date(2026, 12, 30), CAL)}  # fmt: skip
    assert steps == {
        "warning-1": (date(2026, 12, 29), ("owner",)),
        "lapse": (date(2026, 12, 31), ("owner", "legal-manager")),  # legal: no ABM
        "escalation-1": (date(2027, 1, 1), ("unit-head",)),
        "escalation-3": (date(2027, 1, 6), ("dccp",)),
    }
