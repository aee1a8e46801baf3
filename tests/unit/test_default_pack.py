"""Every rule of the default pack through the in-memory ledger: the engine with no I/O."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from typing import Any

import pytest

from events import parse_event
from services.rules.calendar import Calendar
from services.rules.ledger import Ledger
from services.rules.model import Change, Fact, ObligationDraft
from services.rules.packfile import load_pack
from services.tracker.reading import fact_from_event

CAL = Calendar()
RULES = load_pack()
URN = "43TC0000125"
_ids = itertools.count(1)


def ev(type_: str, time: str, **data: Any) -> Fact:
    """An event at `time` (a date means 10:00 London in winter, UTC is close enough here)."""
    when = time if "T" in time else f"{time}T10:00:00+00:00"
    return Fact("/cms/tc", f"e{next(_ids)}", type_, datetime.fromisoformat(when), data)


def run(*facts: Fact, today: date = date(2030, 1, 1)) -> dict[str, ObligationDraft]:
    ledger = Ledger(RULES, CAL)
    ledger.apply(facts, today=today)
    return {d.id: d for d in ledger.obligations()}


def ctl_set(start: str, limit: str = "summary-56", **extra: Any) -> Fact:
    data = {"urn": URN, "defendant_id": "D1", "limit": limit, "custody_start": start, **extra}
    return ev("custody-time-limit-set", start, **data)


def ctl_ended(time: str, reason: str, **extra: Any) -> Fact:
    return ev("custody-time-limit-ended", time, urn=URN, defendant_id="D1", reason=reason, **extra)


CTL, REVIEW = f"custody-time-limit/{URN}/D1", f"ctl-28-day-review/{URN}/D1"


def test_ctl_due_on_expiry_rolled_back_and_closed_by_trial() -> None:
    # 2018-10-30 + 56 days = Christmas Day 2018, rolled back to Monday 24 December.
    found = run(ctl_set("2018-10-30"), ctl_ended("2018-12-10", "trial-started"))
    ctl = found[CTL]
    assert (ctl.due, ctl.state, ctl.closed_on) == (date(2018, 12, 24), "met", date(2018, 12, 10))
    assert "rolled back past 25 Dec Christmas Day" in ctl.explanation
    assert "Custody Time Limits) Regulations 1987" in ctl.explanation


def test_ctl_crown_deducts_prior_custody_and_expires_on_is_used_as_is() -> None:
    crown = run(ctl_set("2018-04-19", "crown-182", prior_custody_days=20))[CTL]
    assert crown.due == date(2018, 9, 28)
    summary = run(ctl_set("2018-04-19", "summary-56", prior_custody_days=20))[CTL]
    assert summary.due == date(2018, 6, 14)  # prior custody counts only for crown-182
    given = run(ctl_set("2018-04-19", expires_on="2018-06-01"))[CTL]
    assert given.due == date(2018, 6, 1)
    assert "expires_on 2018-06-01 as given" in given.explanation


def test_ctl_extension_closes_the_limit_and_opens_a_new_one() -> None:
    found = run(
        ctl_set("2018-01-08"),  # due 2018-03-05
        ctl_ended("2018-02-26", "extended", new_expires_on="2018-04-30"),
        ctl_ended("2018-05-02", "extended", new_expires_on="2018-06-29"),  # after expiry
        ctl_ended("2018-06-11", "trial-started"),
        today=date(2018, 7, 1),
    )
    assert [(d.id, d.due, d.state, d.closed_on) for d in found.values() if d.rule == CTL[:18]] == [
        (CTL, date(2018, 3, 5), "met", date(2018, 2, 26)),
        (f"{CTL}/2", date(2018, 4, 30), "met-late", date(2018, 5, 2)),
        (f"{CTL}/3", date(2018, 6, 29), "met", date(2018, 6, 11)),
    ]
    assert {d.key for d in found.values()} == {f"{URN}/D1"}
    assert "new_expires_on 2018-04-30 as given" in found[f"{CTL}/2"].explanation


def test_review_due_28_days_before_expiry_met_lapsed_or_cancelled() -> None:
    reviewed = ev(
        "custody-time-limit-reviewed",
        "2018-02-01",
        urn=URN,
        defendant_id="D1",
        reviewed_date="2018-02-01",
        reviewed_by="P-1",
    )
    met = run(ctl_set("2018-01-08"), reviewed)[REVIEW]
    assert (met.due, met.state) == (date(2018, 2, 5), "met")  # 2018-03-05 - 28 days
    assert "2018-03-05 - 28 calendar days = 2018-02-05" in met.explanation
    assert run(ctl_set("2018-01-08"))[REVIEW].state == "open"  # lapsed is judged when read
    released_early = run(ctl_set("2018-01-08"), ctl_ended("2018-01-20", "released"))[REVIEW]
    assert (released_early.state, released_early.closed_on) == ("cancelled", date(2018, 1, 20))
    released_late = run(ctl_set("2018-01-08"), ctl_ended("2018-02-20", "released"))[REVIEW]
    assert released_late.state == "open"
    extended_early = run(
        ctl_set("2018-01-08"), ctl_ended("2018-01-30", "extended", new_expires_on="2018-05-01")
    )[REVIEW]
    assert extended_early.state == "cancelled"  # the ending of the limit it was due before


def finalised(time: str, successful: bool, code: str | None = None, on: str = "2018-03-01") -> Fact:
    data = {"urn": URN, "finalised_date": on, "outcome": "dismissed", "successful": successful}
    if code is not None:
        data["unsuccessful_reason_code"] = code
    return ev("case-finalised", time, **data)


def test_finalisation_without_reason_code_until_a_later_finalisation_with_one() -> None:
    key = f"finalisation-reason-code/{URN}"
    assert run(finalised("2018-03-01", True)) == {}
    assert run(finalised("2018-03-01", False, "D2")) == {}
    missing = run(finalised("2018-03-01", False))[key]
    assert (missing.due, missing.state) == (date(2018, 3, 8), "open")
    corrected = run(
        finalised("2018-03-01", False), finalised("2018-03-12", False, "D2", on="2018-03-12")
    )[key]
    assert (corrected.state, corrected.closed_on) == ("met-late", date(2018, 3, 12))
    # A finalisation with a code that is EARLIER than the one without does not close it.
    earlier = run(
        finalised("2018-03-01T09:00:00+00:00", False, "D2"), finalised("2018-03-02", False)
    )
    assert earlier[key].state == "open"


def test_complaint_stages_are_separate_obligations() -> None:
    def received(stage: int, on: str) -> Fact:
        return ev(
            "complaint-received",
            on,
            complaint_id="C1",
            area="wessex",
            received_date=on,
            stage=stage,
        )

    found = run(
        received(1, "2018-12-03"),
        ev(
            "complaint-responded",
            "2019-01-04",
            complaint_id="C1",
            stage=1,
            responded_date="2019-01-04",
        ),
        received(2, "2019-01-14"),
        today=date(2019, 3, 1),
    )
    one, two = found["complaint-response/C1/1"], found["complaint-response/C1/2"]
    # 20 working days from 3 Dec 2018 skip Christmas Day, Boxing Day and New Year's Day.
    assert (one.due, one.state, one.area) == (date(2019, 1, 3), "met-late", "wessex")
    assert (two.due, two.state, two.owner) == (date(2019, 2, 11), "open", None)


def committed(action: str, recommendation: str = "R1", **terms: Any) -> Fact:
    return ev(
        "response-committed",
        terms.pop("time", "2025-01-06"),
        recommendation_id=recommendation,
        action_id=action,
        response="agreed",
        text="We will check review timeliness on a weekly conference call",
        owner="DCCP-1",
        **terms,
    )


def assessed(recommendation: str, rating: str, on: str) -> Fact:
    return ev(
        "follow-up-assessed",
        on,
        recommendation_id=recommendation,
        rating=rating,
        assessed_by="I-1",
        assessed_date=on,
    )


def completed(action: str, on: str) -> Fact:
    return ev("action-completed", on, action_id=action, completed_date=on, completed_by="DCCP-1")


def test_recommendation_action_due_as_committed_and_cancelled_through_the_recommendation() -> None:
    found = run(
        assessed("R1", "no-longer-relevant", "2025-05-01"),  # arrives before the commitments
        committed("A1", due_date="2025-06-30"),
        committed("A2", due_date="2025-03-31"),
        completed("A2", "2025-04-10"),
        committed("A3", recommendation="R2", due_date="2025-03-31"),
        assessed("R2", "achieved", "2025-05-01"),
    )
    a1, a2, a3 = (found[f"recommendation-action/A{i}"] for i in (1, 2, 3))
    assert (a1.due, a1.state, a1.closed_on, a1.owner) == (
        date(2025, 6, 30),
        "cancelled",
        date(2025, 5, 1),
        "DCCP-1",
    )
    assert (a2.state, a2.closed_on) == ("met-late", date(2025, 4, 10))  # done before the cancel
    assert a3.state == "open"


def evidence(action: str, on: str) -> Fact:
    return ev(
        "action-evidence-recorded",
        on,
        action_id=action,
        evidence="minutes of the call",
        recorded_by="DCCP-1",
        recorded_date=on,
    )


def test_weekly_commitment_one_obligation_per_iso_week() -> None:
    found = run(
        committed("W", recurrence="weekly", starts="2024-12-25", ends="2025-01-15"),
        evidence("W", "2024-12-27"),
        evidence("W", "2025-01-08"),
        evidence("W", "2025-01-09"),
    )
    assert [(d.id, d.due, d.state, d.closed_on) for d in found.values()] == [
        ("recurring-commitment/W/2024-W52", date(2024, 12, 29), "met", date(2024, 12, 27)),
        ("recurring-commitment/W/2025-W01", date(2025, 1, 5), "open", None),
        ("recurring-commitment/W/2025-W02", date(2025, 1, 12), "met", date(2025, 1, 8)),
        ("recurring-commitment/W/2025-W03", date(2025, 1, 19), "open", None),
    ]


def test_monthly_and_quarterly_periods_up_to_today_and_completion_cancels_later_ones() -> None:
    monthly = run(committed("M", recurrence="monthly", starts="2025-01-15"), today=date(2025, 4, 2))
    assert [(d.id[-7:], d.due) for d in monthly.values()] == [
        ("2025-01", date(2025, 1, 31)),
        ("2025-02", date(2025, 2, 28)),
        ("2025-03", date(2025, 3, 31)),
        ("2025-04", date(2025, 4, 30)),
    ]
    quarterly = run(
        committed("Q", recurrence="quarterly", starts="2025-02-01", ends="2025-12-31"),
        completed("Q", "2025-05-20"),
    )
    assert [(d.id[-7:], d.due, d.state) for d in quarterly.values()] == [
        ("2025-Q1", date(2025, 3, 31), "open"),
        ("2025-Q2", date(2025, 6, 30), "open"),  # holds the completion: still to evidence
        ("2025-Q3", date(2025, 9, 30), "cancelled"),
        ("2025-Q4", date(2025, 12, 31), "cancelled"),
    ]


def test_periods_open_as_they_begin_when_time_passes() -> None:
    ledger = Ledger(RULES, CAL)
    ledger.apply(
        [committed("M", recurrence="monthly", starts="2025-01-15")], today=date(2025, 1, 20)
    )
    assert len(ledger.obligations()) == 1
    assert ledger.tracks[("recurring-commitment", "M")].refresh_on == date(2025, 2, 1)
    assert ledger.refresh(today=date(2025, 1, 31)) == []
    changes = ledger.refresh(today=date(2025, 2, 1))
    assert [(c.kind, c.obligation_id, c.cause) for c in changes] == [
        ("opened", "recurring-commitment/M/2025-02", ("clock:2025-02-01",))
    ]


def test_vrr_intervals_by_stage_are_unconfirmed_settings() -> None:
    def requested(stage: str) -> Fact:
        return ev(
            "vrr-requested",
            "2025-03-10",
            request_id="Q1",
            urn=URN,
            victim_id="V1",
            decision="no-charge",
            decision_date="2025-03-03",
            requested_date="2025-03-10",
            stage=stage,
        )

    found = run(requested("local-resolution"), requested("independent-review"))
    local = found["victims-right-to-review/Q1/local-resolution"]
    review = found["victims-right-to-review/Q1/independent-review"]
    assert local.due == date(2025, 3, 24)
    assert review.due == date(
        2025, 4, 23
    )  # 30 working days, skipping Good Friday and Easter Monday
    assert next(r for r in RULES if r.id == "victims-right-to-review").unconfirmed


def test_recalculation_keeps_identity_and_the_change_names_its_cause() -> None:
    ledger = Ledger(RULES, CAL)
    held = {"urn": URN, "hearing_id": "H1", "court": "R", "court_type": "crown", "status": "held"}
    first = ev("hearing-updated", "2017-12-20T17:00:00+00:00", hearing_date="2017-12-20", **held)
    fixed = ev("hearing-updated", "2017-12-21T09:00:00+00:00", hearing_date="2017-12-21", **held)
    ledger.apply([first], today=date(2018, 1, 1))
    [change] = ledger.apply([fixed], today=date(2018, 1, 1))
    assert change.kind == "recalculated"
    assert change.obligation_id == f"hearing-record-sheet/{URN}/H1"
    assert (change.before and change.before.due, change.after and change.after.due) == (
        date(2017, 12, 21),
        date(2017, 12, 22),
    )
    assert change.cause == (f"/cms/tc#{fixed.id}",)
    assert change.after and change.after.opened_by == first.id


def test_explanation_shows_rule_source_trigger_and_each_step() -> None:
    letter = ev(
        "victim-letter-due",
        "2017-12-21",
        urn=URN,
        victim_id="V1",
        decision="discontinued",
        decision_date="2017-12-21",
        enhanced=False,
    )
    [draft] = run(letter).values()
    assert draft.explanation.startswith(
        "Letter to the victim after a decision (VCL scheme) [victim-letter]. Due 2018-01-02: "
        "decision_date 2017-12-21 + 5 working days, skipping 25 Dec Christmas Day, "
        "26 Dec Boxing Day, 1 Jan New Year's Day = 2018-01-02 (event /cms/tc#"
    )
    assert "Source: CPS legal guidance, Victim Communication and Liaison scheme" in (
        draft.explanation
    )


@pytest.mark.parametrize("kind", ["opened", "closed"])
def test_changes_journal_each_step(kind: str) -> None:
    ledger = Ledger(RULES, CAL)
    due = ev(
        "victim-letter-due",
        "2018-01-02",
        urn=URN,
        victim_id="V1",
        decision="no-charge",
        decision_date="2018-01-02",
        enhanced=True,
    )
    sent = ev("victim-letter-sent", "2018-01-03", urn=URN, victim_id="V1", sent_date="2018-01-03")
    journal: list[Change] = ledger.apply([due], today=date(2018, 2, 1))
    journal += ledger.apply([sent], today=date(2018, 2, 1))
    assert kind in [c.kind for c in journal]
    assert ledger.apply([sent, due], today=date(2018, 2, 1)) == []  # duplicates change nothing


def test_a_default_left_out_by_the_sender_is_filled_in_before_the_rules_see_it() -> None:
    wire = {
        "specversion": "1.0",
        "id": "vrr-1",
        "source": "/cms/tc",
        "type": "vrr-requested",
        "time": "2025-03-10T10:00:00+00:00",
        "data": {
            "request_id": "Q2",
            "urn": URN,
            "victim_id": "V1",
            "decision": "discontinued",
            "decision_date": "2025-03-03",
            "requested_date": "2025-03-10",
        },
    }
    found = run(fact_from_event(parse_event(wire)))
    assert found["victims-right-to-review/Q2/local-resolution"].due == date(2025, 3, 24)
