"""The recommendation status function with plain dates: each status and flag, and its edges."""

from __future__ import annotations

from datetime import date

from services.audit.recommendation_status import (
    ActionFacts,
    Completion,
    Evidence,
    ObligationView,
    Rating,
    RecommendationFacts,
    recommendation_status,
)

D = date
TODAY = D(2018, 3, 15)


def rec(
    *actions: ActionFacts, due: date | None = None, rating: str | None = None
) -> RecommendationFacts:
    return RecommendationFacts(
        recommendation_id="R",
        inspection_id="I",
        number="1",
        kind="recommendation",
        text="Do it.",
        due_date=due,
        actions=actions,
        rating=Rating(rating, "HMI", D(2018, 3, 1)) if rating else None,
    )


def one_off(
    action_id: str,
    due: date,
    *,
    response: str = "agreed",
    done: date | None = None,
    evidence: tuple[date, ...] = (),
) -> ActionFacts:
    return ActionFacts(
        action_id=action_id,
        response=response,
        text=action_id,
        owner=f"O-{action_id}",
        due_date=due,
        evidence=tuple(Evidence("minutes", "O", d) for d in evidence),
        completions=(Completion(done, "O"),) if done else (),
    )


def oblig(action: ActionFacts) -> ObligationView:
    """What the rules engine derives for a one-off action (met / met-late / open)."""
    assert action.due_date
    done = action.completed_on
    state = "open" if done is None else ("met" if done <= action.due_date else "met-late")
    return ObligationView(
        f"recommendation-action/{action.action_id}",
        "recommendation-action",
        action.action_id,
        action.due_date,
        state,
        done,
    )


def status_of(r: RecommendationFacts, today: date = TODAY) -> tuple[str, tuple[str, ...]]:
    found = recommendation_status(r, [oblig(a) for a in r.actions if a.due_date], today)
    return found.status, found.flags


def test_no_response_yet_is_not_started_and_says_so() -> None:
    assert status_of(rec()) == ("not-started", ("no-response",))


def test_a_not_agreed_response_commits_nothing() -> None:
    refused = one_off("A", D(2018, 1, 31), response="not-agreed")
    assert status_of(rec(refused)) == ("not-started", ("not-agreed",))


def test_committed_with_nothing_recorded_and_nothing_due_is_not_started() -> None:
    assert status_of(rec(one_off("A", D(2018, 6, 30)))) == ("not-started", ())


def test_evidence_without_lapses_is_on_track() -> None:
    action = one_off("A", D(2018, 6, 30), evidence=(D(2018, 2, 1),))
    assert status_of(rec(action)) == ("on-track", ())


def test_a_missed_milestone_before_the_final_due_date_is_at_risk() -> None:
    first = one_off("A", D(2018, 2, 28))
    second = one_off("B", D(2018, 9, 30))
    assert status_of(rec(first, second)) == ("at-risk", ("milestone-missed",))


def test_past_the_final_due_date_with_work_outstanding_is_overdue() -> None:
    first = one_off("A", D(2018, 1, 31), done=D(2018, 1, 20), evidence=(D(2018, 1, 20),))
    second = one_off("B", D(2018, 2, 28))
    assert status_of(rec(first, second)) == ("overdue", ("milestone-missed",))
    # The recommendation's own due date, when given, is the final one.
    assert status_of(rec(first, second, due=D(2018, 12, 31)))[0] == "at-risk"
    assert status_of(rec(one_off("C", D(2018, 12, 1)), due=D(2018, 3, 1)))[0] == "overdue"


def test_every_committed_action_completed_awaits_verification() -> None:
    done = one_off("A", D(2018, 2, 28), done=D(2018, 3, 2), evidence=(D(2018, 3, 1),))
    refused = one_off("B", D(2018, 2, 28), response="not-agreed")
    assert status_of(rec(done, refused)) == (
        "completed-awaiting-verification",
        ("partly-not-agreed", "completed-late"),
    )


def test_a_completed_action_without_evidence_is_flagged() -> None:
    done = one_off("A", D(2018, 2, 28), done=D(2018, 2, 20))
    assert status_of(rec(done)) == (
        "completed-awaiting-verification",
        ("completed-without-evidence",),
    )


def test_a_rating_verifies_whatever_else_holds() -> None:
    lapsed = one_off("A", D(2018, 1, 31))
    found = recommendation_status(rec(lapsed, rating="not-achieved"), [oblig(lapsed)], TODAY)
    assert (found.status, found.rating) == ("verified", "not-achieved")
    assert found.lapses == ("recommendation-action/A",)


def monthly(completed: date | None = None, ends: date | None = None) -> ActionFacts:
    return ActionFacts(
        action_id="M",
        response="agreed",
        text="monthly analysis",
        owner="O-M",
        recurrence="monthly",
        starts=D(2017, 11, 1),
        ends=ends,
        evidence=(Evidence("minutes", "O", D(2017, 11, 20)),),
        completions=(Completion(completed, "O"),) if completed else (),
    )


def periods(*spec: tuple[str, date, str]) -> list[ObligationView]:
    return [
        ObligationView(f"recurring-commitment/M/{label}", "recurring-commitment", "M", due, state)
        for label, due, state in spec
    ]


def test_a_recurring_period_without_evidence_puts_it_at_risk() -> None:
    found = recommendation_status(
        rec(monthly()),
        periods(
            ("2017-11", D(2017, 11, 30), "met"),
            ("2017-12", D(2017, 12, 31), "open"),
            ("2018-03", D(2018, 3, 31), "open"),
            # Opened by a tracker whose clock is later than the date judged: not counted.
            ("2018-04", D(2018, 4, 30), "open"),
        ),
        TODAY,
    )
    assert (found.status, found.flags) == ("at-risk", ("evidence-missing",))
    assert found.lapses == ("recurring-commitment/M/2017-12",)
    assert found.next_due == D(2018, 3, 31)
    assert [o.id for o, _ in found.actions[0].obligations][-1].endswith("2018-03")


def test_a_recurring_commitment_ends_when_completed_or_after_its_last_period() -> None:
    kept = periods(("2017-11", D(2017, 11, 30), "met"))
    assert recommendation_status(rec(monthly(D(2017, 11, 30))), kept, TODAY).status == (
        "completed-awaiting-verification"
    )
    assert recommendation_status(rec(monthly(ends=D(2017, 11, 15))), kept, TODAY).status == (
        "completed-awaiting-verification"
    )
    assert recommendation_status(rec(monthly(ends=D(2018, 3, 1))), kept, TODAY).status == (
        "on-track"
    )


def test_owners_and_next_due_come_from_committed_actions() -> None:
    a = one_off("A", D(2018, 4, 30))
    b = one_off("B", D(2018, 5, 31))
    refused = one_off("C", D(2018, 4, 1), response="not-agreed")
    found = recommendation_status(rec(a, b, refused), [oblig(x) for x in (a, b, refused)], TODAY)
    assert found.owners == ("O-A", "O-B")
    assert found.next_due == D(2018, 4, 30)
    assert found.final_due == D(2018, 5, 31)


def test_a_recurring_commitment_with_lapsed_periods_is_never_completed() -> None:
    """All periods lapsed and the last one over: overdue, with the count of lapsed periods."""
    lapsed = periods(
        ("2017-11", D(2017, 11, 30), "lapsed"),
        ("2017-12", D(2017, 12, 31), "lapsed"),
        ("2018-01", D(2018, 1, 31), "met"),
    )
    found = recommendation_status(rec(monthly(ends=D(2018, 1, 31))), lapsed, TODAY)
    assert found.status == "overdue"
    assert found.final_due == D(2018, 1, 31)
    assert (found.periods_lapsed, found.periods_ended) == (2, 3)
    assert found.actions[0].state == "lapsed"
    assert (found.actions[0].periods_lapsed, found.actions[0].periods_ended) == (2, 3)
    # Completed, but a period lapsed before: still not completed; before its end, at risk.
    completed = monthly(D(2018, 2, 1), ends=D(2018, 6, 30))
    found = recommendation_status(rec(completed), lapsed, TODAY)
    assert found.status == "at-risk"
    assert found.actions[0].state == "lapsed"
