"""A recommendation's follow-up status: a pure function of its facts, its actions' obligations
and `today` (docs/contract.md, section 8, "Recommendation status", says what each one means).

Precedence, first that holds:
  verified                         a follow-up rating is recorded
  not-started                      no response yet, or every response is not-agreed
  completed-awaiting-verification  every committed action is done, and no recurring period of
                                   it lapsed without evidence
  overdue                          the recommendation's final due date has passed (a recurring
                                   commitment's last period counts towards it)
  at-risk                          a dated milestone lapsed or a recurring period has no evidence
  on-track                         evidence or a completion is recorded, nothing has lapsed
  not-started                      committed, nothing recorded yet, nothing lapsed
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from services.rules.model import State, effective_state
from services.rules.periods import period_of

NOT_STARTED = "not-started"
ON_TRACK = "on-track"
AT_RISK = "at-risk"
OVERDUE = "overdue"
AWAITING_VERIFICATION = "completed-awaiting-verification"
VERIFIED = "verified"
STATUSES = (NOT_STARTED, ON_TRACK, AT_RISK, OVERDUE, AWAITING_VERIFICATION, VERIFIED)

ONE_OFF_RULE = "recommendation-action"
RECURRING_RULE = "recurring-commitment"


@dataclass(frozen=True, slots=True)
class Evidence:
    evidence: str
    recorded_by: str
    recorded_date: date
    caused_by: str = ""


@dataclass(frozen=True, slots=True)
class Completion:
    completed_date: date
    completed_by: str
    caused_by: str = ""


@dataclass(frozen=True, slots=True)
class ActionFacts:
    action_id: str
    response: str  # agreed, partly-agreed, not-agreed
    text: str
    owner: str
    due_date: date | None = None
    recurrence: str | None = None
    starts: date | None = None
    ends: date | None = None
    evidence: tuple[Evidence, ...] = ()
    completions: tuple[Completion, ...] = ()
    caused_by: str = ""  # the standing response-committed event, `source#id`

    @property
    def committed(self) -> bool:
        return self.response != "not-agreed"

    def done_by(self, today: date) -> bool:
        """Completed; or, for a recurring commitment with an end, its last period is over.
        (A recurring commitment with a lapsed period is never done: `recommendation_status`
        checks that, as it needs the obligations; docs/contract.md section 8.)"""
        if self.completions:
            return True
        if self.recurrence and self.ends:
            return today > period_of(self.ends, self.recurrence).end
        return False

    @property
    def last_period_end(self) -> date | None:
        """The end of a recurring commitment's last period (the one holding `ends`)."""
        if self.recurrence and self.ends:
            return period_of(self.ends, self.recurrence).end
        return None

    @property
    def completed_on(self) -> date | None:
        # The earliest completion, as the rules engine closes the obligation with it.
        return min((c.completed_date for c in self.completions), default=None)


@dataclass(frozen=True, slots=True)
class Rating:
    rating: str
    assessed_by: str
    assessed_date: date
    notes: str | None = None
    caused_by: str = ""


@dataclass(frozen=True, slots=True)
class RecommendationFacts:
    recommendation_id: str
    inspection_id: str
    number: str
    kind: str
    text: str
    area: str | None = None
    due_date: date | None = None
    actions: tuple[ActionFacts, ...] = ()
    rating: Rating | None = None  # the one that stands: the latest assessment by time
    caused_by: str = ""  # the standing recommendation-issued event, `source#id`


@dataclass(frozen=True, slots=True)
class ObligationView:
    id: str
    rule: str
    key: str  # the action id
    due: date
    state: str  # as stored: open, met, met-late, cancelled
    closed_on: date | None = None


@dataclass(frozen=True, slots=True)
class ActionStatus:
    action_id: str
    # completed, completed-late, open, lapsed, cancelled, not-agreed; recurring: ongoing,
    # lapsed (a period without evidence), completed, ended (its last period is over)
    state: str
    obligations: tuple[tuple[ObligationView, State], ...]  # each with its state today
    lapses: tuple[str, ...]  # obligation ids lapsed today
    next_due: date | None
    flags: tuple[str, ...]
    # Recurring commitments: periods whose end has passed by `today`, and how many of them
    # lapsed without evidence (docs/contract.md section 8, "Added: lapsed periods").
    periods_ended: int = 0
    periods_lapsed: int = 0


@dataclass(frozen=True, slots=True)
class RecommendationStatus:
    recommendation_id: str
    inspection_id: str
    number: str
    kind: str
    text: str
    area: str | None
    owners: tuple[str, ...]
    status: str
    flags: tuple[str, ...]
    next_due: date | None
    rating: str | None = None
    final_due: date | None = None
    lapses: tuple[str, ...] = ()
    actions: tuple[ActionStatus, ...] = field(default=())
    periods_ended: int = 0  # over its committed recurring actions
    periods_lapsed: int = 0


def action_status(
    action: ActionFacts, obligations: Sequence[ObligationView], today: date
) -> ActionStatus:
    mine = [o for o in obligations if o.key == action.action_id and _begun(o, action, today)]
    judged = tuple(
        (o, effective_state(o.state, o.due, today)) for o in sorted(mine, key=lambda o: o.due)
    )
    lapses = tuple(o.id for o, state in judged if state == "lapsed")
    next_due = min((o.due for o, state in judged if state == "open"), default=None)
    flags: list[str] = []
    if action.completions and not action.evidence:
        flags.append("completed-without-evidence")
    if lapses:
        flags.append("evidence-missing" if action.recurrence else "milestone-missed")
    if any(state == "met-late" for _, state in judged) and not action.recurrence:
        flags.append("completed-late")
    periods = [(o, state) for o, state in judged if action.recurrence and o.due < today]
    return ActionStatus(
        action.action_id,
        _action_state(action, judged, today),
        judged,
        lapses,
        next_due,
        tuple(flags),
        periods_ended=len(periods),
        periods_lapsed=sum(1 for _, state in periods if state == "lapsed"),
    )


def _action_state(
    action: ActionFacts, judged: Sequence[tuple[ObligationView, State]], today: date
) -> str:
    if not action.committed:
        return "not-agreed"
    states = {state for _, state in judged}
    if action.recurrence:
        if "lapsed" in states:  # never completed nor ended with a period left without evidence
            return "lapsed"
        if action.completions:
            return "completed"
        return "ended" if action.done_by(today) else "ongoing"
    if action.completions:
        return "completed-late" if "met-late" in states else "completed"
    if judged and states == {"cancelled"}:
        return "cancelled"
    return "lapsed" if "lapsed" in states else "open"


def _begun(obligation: ObligationView, action: ActionFacts, today: date) -> bool:
    """Recurring periods that have not begun by `today` do not count yet (the tracker may have
    opened them already when judging as of an earlier date)."""
    if obligation.rule != RECURRING_RULE or not action.recurrence:
        return True
    return obligation.due <= period_of(today, action.recurrence).end


def recommendation_status(
    recommendation: RecommendationFacts, obligations: Sequence[ObligationView], today: date
) -> RecommendationStatus:
    actions = tuple(action_status(a, obligations, today) for a in recommendation.actions)
    committed = [
        (a, s) for a, s in zip(recommendation.actions, actions, strict=True) if a.committed
    ]
    flags: list[str] = []
    if not recommendation.actions:
        flags.append("no-response")
    elif not committed:
        flags.append("not-agreed")
    elif any(not a.committed for a in recommendation.actions):
        flags.append("partly-not-agreed")
    if any(a.response == "partly-agreed" for a in recommendation.actions):
        flags.append("partly-agreed")
    for _, done in committed:
        flags.extend(done.flags)
    final_due = final_due_of(recommendation)
    lapses = tuple(o for _, s in committed for o in s.lapses)
    recurring = [s for a, s in committed if a.recurrence]
    status = _status(recommendation, committed, final_due, lapses, today)
    people = [a.owner for a, _ in committed] or [a.owner for a in recommendation.actions]
    rating = recommendation.rating
    return RecommendationStatus(
        recommendation_id=recommendation.recommendation_id,
        inspection_id=recommendation.inspection_id,
        number=recommendation.number,
        kind=recommendation.kind,
        text=recommendation.text,
        area=recommendation.area,
        owners=tuple(dict.fromkeys(people)),
        status=status,
        flags=tuple(dict.fromkeys(flags)),
        next_due=min((s.next_due for _, s in committed if s.next_due), default=None),
        rating=rating.rating if rating else None,
        final_due=final_due,
        lapses=lapses,
        actions=actions,
        periods_ended=sum(s.periods_ended for s in recurring),
        periods_lapsed=sum(s.periods_lapsed for s in recurring),
    )


def final_due_of(recommendation: RecommendationFacts) -> date | None:
    """The recommendation's own due date, else the last dated milestone committed to it: a
    one-off action's due date, or the end of a recurring commitment's last period."""
    if recommendation.due_date:
        return recommendation.due_date
    dated = [a.due_date for a in recommendation.actions if a.committed and a.due_date]
    dated += [end for a in recommendation.actions if a.committed and (end := a.last_period_end)]
    return max(dated, default=None)


def _status(
    recommendation: RecommendationFacts,
    committed: Sequence[tuple[ActionFacts, ActionStatus]],
    final_due: date | None,
    lapses: Sequence[str],
    today: date,
) -> str:
    if recommendation.rating is not None:
        return VERIFIED
    if not committed:
        return NOT_STARTED
    if all(a.done_by(today) and not s.lapses for a, s in committed):
        return AWAITING_VERIFICATION
    if final_due is not None and today > final_due:
        return OVERDUE
    if lapses:
        return AT_RISK
    if any(a.evidence or a.completions for a, _ in committed):
        return ON_TRACK
    return NOT_STARTED
