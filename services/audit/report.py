"""The follow-up report of one inspection, as plain data: every recommendation with its
response, owners, actions, evidence, timeline from the audit trail, lapses, rating and status,
and the audit chain's verification. The renderers (render.py) only lay this out."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from schemas.tables import AuditEntry
from services.audit.integrity import RowProblem, check_follow_up_rows
from services.audit.recommendation_status import (
    RECURRING_RULE,
    STATUSES,
    ActionFacts,
    ActionStatus,
    RecommendationFacts,
    RecommendationStatus,
    recommendation_status,
)
from services.audit.records import audit_entries_about, load_follow_up, staff_names
from services.platform.audit_trail import ChainCheck, verify_chain

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.access.scope import Scope

STATUS_LABELS = {
    "not-started": "Not started",
    "on-track": "On track",
    "at-risk": "At risk",
    "overdue": "Overdue",
    "completed-awaiting-verification": "Completed, awaiting verification",
    "verified": "Verified",
}
FLAG_LABELS = {
    "no-response": "no CPS response recorded yet",
    "not-agreed": "the CPS did not agree",
    "partly-not-agreed": "some actions not agreed",
    "partly-agreed": "partly agreed",
    "completed-without-evidence": "completed without evidence",
    "evidence-missing": "evidence missing for a period",
    "milestone-missed": "a dated milestone was missed",
    "completed-late": "completed after its due date",
}


class InspectionNotFound(LookupError):
    pass


async def build_report(
    *, session: AsyncSession, inspection_id: str, today: date, scope: Scope | None = None
) -> dict[str, Any]:
    """`scope`: the reader's; outside it the inspection is not found, and of a national one
    only the recommendations it covers are reported (docs/contract.md section 12)."""
    found = await load_follow_up(session=session, inspection_id=inspection_id, scope=scope)
    inspection = found.inspections.get(inspection_id)
    if inspection is None and not found.recommendations:
        raise InspectionNotFound(f"no inspection {inspection_id!r} has been recorded")
    statuses = [recommendation_status(r, found.obligations, today) for r in found.recommendations]
    people = {a.owner for r in found.recommendations for a in r.actions}
    names = await staff_names(session=session, ids=people)
    chain = await verify_chain(session=session)
    about: list[set[str]] = []
    for facts, status in zip(found.recommendations, statuses, strict=True):
        ids = {facts.recommendation_id, *(a.action_id for a in facts.actions)}
        about.append(ids | {o.id for a in status.actions for o, _ in a.obligations})
    # One read for the whole inspection, shared out (in trail order) by what each entry is about.
    every = await audit_entries_about(session=session, entity_ids=set().union(*about))
    problems = await check_follow_up_rows(
        session=session,
        inspection_id=inspection_id,
        recommendation_ids=[r.recommendation_id for r in found.recommendations],
        action_ids=[a.action_id for r in found.recommendations for a in r.actions],
    )
    recorded = {e.caused_by: _data(e) for e in every if e.entity != "obligation"}
    recommendations = [
        _recommendation(
            facts,
            status,
            names,
            [e for e in every if e.entity_id in ids],
            recorded,
            [p for p in problems if p.entity_id in ids],
        )
        for facts, status, ids in zip(found.recommendations, statuses, about, strict=True)
    ]
    counts = Counter(s.status for s in statuses)
    return {
        "inspection": {
            "inspection_id": inspection_id,
            "title": inspection.title if inspection else None,
            "kind": inspection.kind if inspection else None,
            "area": inspection.area if inspection else None,
            "published_date": _iso(inspection.published_date) if inspection else None,
            "ratings": dict(inspection.ratings or {}) if inspection else {},
        },
        "as_of": today.isoformat(),
        "summary": {s: counts.get(s, 0) for s in STATUSES},
        "chain": chain_json(chain),
        # Rows that do not match their audit entry (docs/contract.md section 8, "Added").
        "integrity": {
            "ok": not problems,
            "problems": [problem_json(p) for p in problems],
        },
        "recommendations": recommendations,
    }


def problem_json(problem: RowProblem) -> dict[str, Any]:
    return {
        "table": problem.table,
        "entity": problem.entity,
        "entity_id": problem.entity_id,
        "row": problem.row,
        "problem": problem.problem,
        "about": problem.label,
        "audit_seq": problem.audit_seq,
        "sentence": problem.sentence(),
    }


def _data(entry: AuditEntry) -> dict[str, Any]:
    detail = json.loads(entry.detail)
    data = detail.get("data") if isinstance(detail, dict) else None
    return data if isinstance(data, dict) else {}


def assumed_of(data: dict[str, Any]) -> list[str]:
    """The fields the event marks as assumptions, not from the source (docs/contract.md
    section 2, "Added: assumed fields")."""
    found = data.get("assumed")
    return [str(f) for f in found] if isinstance(found, list) else []


def chain_json(chain: ChainCheck) -> dict[str, Any]:
    return {
        "ok": chain.ok,
        "entries": chain.entries,
        "head": chain.head,
        "first_broken": chain.first_broken,
        "reason": chain.reason,
    }


def _recommendation(
    facts: RecommendationFacts,
    status: RecommendationStatus,
    names: dict[str, str],
    entries: list[AuditEntry],
    recorded: dict[str, dict[str, Any]],
    problems: list[RowProblem],
) -> dict[str, Any]:
    rating = facts.rating
    actions = [
        _action(a, s, names, assumed_of(recorded.get(a.caused_by, {})))
        for a, s in zip(facts.actions, status.actions, strict=True)
    ]
    timeline, periods = _timeline_and_periods(entries, status)
    return {
        "recommendation_id": facts.recommendation_id,
        "number": facts.number,
        "kind": facts.kind,
        "text": facts.text,
        "area": facts.area,
        "assumed": assumed_of(recorded.get(facts.caused_by, {})),
        "response": _response(facts),
        "owners": [{"staff_id": o, "name": names.get(o)} for o in status.owners],
        "status": status.status,
        "status_label": STATUS_LABELS[status.status],
        "flags": list(status.flags),
        "flag_labels": [FLAG_LABELS.get(f, f) for f in status.flags],
        "due_date": _iso(facts.due_date),
        "final_due": _iso(status.final_due),
        "next_due": _iso(status.next_due),
        "rating": (
            {
                "rating": rating.rating,
                "assessed_by": rating.assessed_by,
                "assessed_date": rating.assessed_date.isoformat(),
                "notes": rating.notes,
                "event": rating.caused_by,
            }
            if rating
            else None
        ),
        "actions": actions,
        "evidence": [{"action_id": a["action_id"], **e} for a in actions for e in a["evidence"]],
        "lapses": [
            {"obligation_id": o.id, "action_id": o.key, "due": o.due.isoformat()}
            for s in status.actions
            for o, state in s.obligations
            if state == "lapsed"
        ],
        "periods": {
            "ended": status.periods_ended,
            "lapsed": status.periods_lapsed,
            "sentence": periods_sentence(status.periods_lapsed, status.periods_ended),
        },
        "timeline": timeline,
        "period_history": periods,
        "integrity": [problem_json(p) for p in problems],
    }


def periods_sentence(lapsed: int, ended: int) -> str | None:
    if not ended:
        return None
    return f"{lapsed} of {ended} periods lapsed without evidence"


def _timeline_and_periods(
    entries: list[AuditEntry], status: RecommendationStatus
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The timeline in event order (the event's time, then trail order); a recurring
    commitment's periods apart, one group per action with a line per period."""
    times = {e.caused_by: _event_time(e) for e in entries if e.entity != "obligation"}
    recurring = {
        o.id: (a.action_id, o, state)
        for a in status.actions
        for o, state in a.obligations
        if o.rule == RECURRING_RULE
    }
    lines, by_period = [], defaultdict(list)
    for entry in entries:
        if entry.entity == "obligation" and entry.entity_id.startswith(RECURRING_RULE + "/"):
            by_period[entry.entity_id].append(entry)
            continue
        when = times.get(entry.caused_by) or _event_time(entry)
        line = _timeline(entry) | {"event_time": when}
        line["happened"] = line["happened"] or when[:10]
        lines.append((when, entry.seq, line))
    lines.sort(key=lambda line: (line[0], line[1]))
    groups = []
    for action in status.actions:
        rows = []
        for obligation, state in action.obligations:
            if obligation.id not in recurring:
                continue
            history = [
                _describe_obligation(e.action, json.loads(e.detail))
                for e in by_period[obligation.id]
            ]
            rows.append(
                {
                    "obligation_id": obligation.id,
                    "period": obligation.id.rsplit("/", 1)[-1],
                    "due": obligation.due.isoformat(),
                    "state": state,
                    "closed_on": _iso(obligation.closed_on),
                    "history": history,
                    "seqs": [e.seq for e in by_period[obligation.id]],
                }
            )
        if rows:
            groups.append(
                {
                    "action_id": action.action_id,
                    "periods_ended": action.periods_ended,
                    "periods_lapsed": action.periods_lapsed,
                    "sentence": periods_sentence(action.periods_lapsed, action.periods_ended),
                    "periods": rows,
                }
            )
    return [line for _, _, line in lines], groups


def _event_time(entry: AuditEntry) -> str:
    """The event's time in UTC when the entry holds it, else when it was recorded."""
    detail = json.loads(entry.detail)
    when = detail.get("time") if isinstance(detail, dict) else None
    moment = datetime.fromisoformat(when) if isinstance(when, str) else entry.recorded_at
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _response(facts: RecommendationFacts) -> str | None:
    """One word for the response: the single word given, or 'partly-agreed' for a mix."""
    given = list(dict.fromkeys(a.response for a in facts.actions))
    if not given:
        return None
    return given[0] if len(given) == 1 else "partly-agreed"


def _action(
    action: ActionFacts, status: ActionStatus, names: dict[str, str], assumed: list[str]
) -> dict[str, Any]:
    return {
        "action_id": action.action_id,
        "assumed": assumed,
        "periods_ended": status.periods_ended,
        "periods_lapsed": status.periods_lapsed,
        "periods_sentence": periods_sentence(status.periods_lapsed, status.periods_ended),
        "response": action.response,
        "text": action.text,
        "owner": action.owner,
        "owner_name": names.get(action.owner),
        "schedule": schedule(action),
        "due_date": _iso(action.due_date),
        "recurrence": action.recurrence,
        "starts": _iso(action.starts),
        "ends": _iso(action.ends),
        "state": status.state,
        "flags": list(status.flags),
        "completed_on": _iso(action.completed_on),
        "completions": [
            {"completed_date": c.completed_date.isoformat(), "completed_by": c.completed_by}
            for c in action.completions
        ],
        "evidence": [
            {
                "evidence": e.evidence,
                "recorded_by": e.recorded_by,
                "recorded_date": e.recorded_date.isoformat(),
            }
            for e in action.evidence
        ],
        "obligations": [
            {
                "id": o.id,
                "due": o.due.isoformat(),
                "state": state,
                "closed_on": _iso(o.closed_on),
            }
            for o, state in status.obligations
        ],
        "lapses": list(status.lapses),
        "next_due": _iso(status.next_due),
    }


def schedule(action: ActionFacts) -> str:
    if action.recurrence:
        until = f" to {action.ends}" if action.ends else ""
        return f"{action.recurrence} from {action.starts}{until}"
    return f"due {action.due_date}"


def _timeline(entry: AuditEntry) -> dict[str, Any]:
    detail = json.loads(entry.detail)
    return {
        "seq": entry.seq,
        "recorded_at": entry.recorded_at.isoformat(timespec="seconds"),
        "happened": (detail.get("time") or "")[:10] or None,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "action": entry.action,
        "actor": entry.actor,
        "caused_by": entry.caused_by,
        "summary": describe(entry.entity, entry.action, detail),
    }


def describe(entity: str, action: str, detail: dict[str, Any]) -> str:
    """A line a non-technical reader can follow."""
    data = detail.get("data") or {}
    if entity == "obligation":
        return _describe_obligation(action, detail)
    if action == "superseded":
        return f"Older {entity} event recorded; a later one stands"
    if entity == "inspection":
        return f"Inspection {action}: {data.get('title', '')}"
    if entity == "recommendation" and action == "assessed":
        notes = f" ({data['notes']})" if data.get("notes") else ""
        return f"Follow-up rating: {data.get('rating')} on {data.get('assessed_date')}{notes}"
    if entity == "recommendation":
        kind = str(data.get("kind", "recommendation")).replace("-", " ")
        return f"{kind.capitalize()} {action}"
    if action == "evidence-recorded":
        return f"Evidence recorded ({data.get('recorded_date')}): {data.get('evidence')}"
    if action == "completed":
        return f"Action completed on {data.get('completed_date')}"
    if entity == "case" and action == "reallocated":  # its detail is not an event's data
        moved = len(detail.get("moved") or [])
        was = detail.get("from") or "-"
        return (
            f"Case reallocated on {detail.get('reallocated_date')} from {was} to "
            f"{detail.get('to')} ({moved} obligation{'' if moved == 1 else 's'} moved): "
            f"{detail.get('reason')}"
        )
    if entity == "action":
        when = data.get("due_date") or f"{data.get('recurrence')} from {data.get('starts')}"
        return (
            f"Response {data.get('response')}: action {action}, owner {data.get('owner')}, {when}"
        )
    return f"{entity} {action}"


def _describe_obligation(action: str, detail: dict[str, Any]) -> str:
    due = detail.get("due_after") or detail.get("due_before")
    state = detail.get("state_after")
    if action == "opened":
        return f"Obligation opened, due {due}"
    if action == "closed":
        late = " (late)" if state == "met-late" else ""
        return f"Obligation met{late} on {detail.get('closed_on')}, due {due}"
    if action == "cancelled":
        return f"Obligation cancelled on {detail.get('closed_on')}"
    if "owner_after" in detail:  # a case reallocated or registered to another lawyer
        return (
            f"Obligation {action}: owner {detail.get('owner_before')} -> "
            f"{detail.get('owner_after')}, {state}, due {due}"
        )
    return f"Obligation {action}: {detail.get('state_before')} -> {state}, due {due}"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
