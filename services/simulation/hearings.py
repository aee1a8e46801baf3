"""A case's hearings: listed, held, adjourned or vacated, the Hearing Record Sheet owed for each
one held (contract section 4: the next working day), the case review due before the first
hearing, the PTPH and the trial, and the trial's outcome on the day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from services.simulation import rates
from services.simulation.case import Case
from services.simulation.days import at, before, done_on, working

TRIAL_REASONS = {
    "prosecution": ("prosecution witness absent", "prosecution not ready", "no evidence offered"),
    "defence": ("late guilty plea", "defendant absent", "defence not ready"),
    "court": ("no courtroom available", "overlisting"),
    "other": ("interpreter unavailable",),
}


def until_held(case: Case, court_type: str, day: date, stage: str | None, listed_on: date) -> date:
    """List a hearing (with its review, once) until it is held: a vacated hearing is listed
    again for a later date (its review moves with it, contract section 4), an adjourned one
    is followed by a new hearing. The day it is held."""
    rng = case.rng
    hearing_id = list_hearing(case, court_type, day, stage, listed_on)
    for attempt in range(3):
        status = case.pick(rates.HEARING_FATES) if attempt < 2 else "held"
        if status == "held":
            held(case, hearing_id, court_type, day)
            return day
        later = working(day + timedelta(rng.randint(14, 28)))
        if status == "vacated":
            told = max(working(listed_on, 1), before(day, rng.randint(1, 5)))
            hearing(case, hearing_id, court_type, day, "vacated", when=at(rng, told, 10, 12))
            hearing(case, hearing_id, court_type, later, "listed", when=at(rng, told, 13, 17))
        else:
            hearing(case, hearing_id, court_type, day, "adjourned")
            hearing_id = list_hearing(case, court_type, later, None, day)
        listed_on, day = day, later
    return day


def list_hearing(case: Case, court_type: str, day: date, stage: str | None, listed_on: date) -> str:
    case.hearings += 1
    hearing_id = f"H{case.hearings}"
    when = at(case.rng, listed_on, 10, 17)
    hearing(case, hearing_id, court_type, day, "listed", when=when)
    if stage is not None:
        review(case, stage, hearing_id, day, listed_on)
    return hearing_id


def hearing(
    case: Case,
    hearing_id: str,
    court_type: str,
    day: date,
    status: str,
    *,
    when: Any = None,
    at_day: date | None = None,
) -> None:
    rng = case.rng
    towns = case.area.towns or ("Central",)
    court = f"{towns[len(case.urn) % len(towns)]} " + (
        "Magistrates' Court" if court_type == "magistrates" else "Crown Court"
    )
    data: dict[str, Any] = {
        "urn": case.urn,
        "hearing_id": hearing_id,
        "court": court,
        "court_type": court_type,
        "hearing_date": str(day),
        "status": status,
    }
    advocates = case.staff.having(
        "advocate", "magistrates" if court_type == "magistrates" else "crown"
    )
    if advocates and rng.random() < 0.85:
        data["advocate"] = advocates[len(case.urn) % len(advocates)]
    moment = when if when is not None else at(rng, at_day or day, 14, 18)
    case.rec.add(moment, "hearing-updated", **data)


def held(case: Case, hearing_id: str, court_type: str, day: date) -> None:
    """Held: its Hearing Record Sheet is due the next working day (contract section 4)."""
    hearing(case, hearing_id, court_type, day, "held")
    rng = case.rng
    uploaded = done_on(rng, rates.HEARING_RECORD_SHEET, day, working(day, 1))
    if uploaded is not None:
        by = case.staff.having(
            "advocate", "magistrates" if court_type == "magistrates" else "crown"
        )
        case.rec.add(
            at(rng, uploaded, 8, 19),
            "hearing-record-sheet-uploaded",
            urn=case.urn,
            hearing_id=hearing_id,
            uploaded_by=by[0] if by else case.owner_on(uploaded),
            uploaded_date=str(uploaded),
        )


def review(case: Case, stage: str, hearing_id: str, day: date, listed_on: date) -> None:
    rng = case.rng
    case.rec.add(
        at(rng, listed_on, 9, 17),
        "case-review-due",
        urn=case.urn,
        stage=stage,
        hearing_id=hearing_id,
    )
    due = before(day, rates.REVIEW_DAYS[stage])
    reviewed = done_on(rng, rates.CASE_REVIEW, min(listed_on, due), due)
    if reviewed is not None:
        case.rec.add(
            at(rng, reviewed),
            "case-reviewed",
            urn=case.urn,
            stage=stage,
            reviewed_by=case.owner_on(reviewed),
            reviewed_date=str(reviewed),
        )


def trial_outcome(case: Case, hearing_id: str, court_type: str, day: date, outcome: str) -> None:
    data: dict[str, Any] = {
        "urn": case.urn,
        "hearing_id": hearing_id,
        "court_type": court_type,
        "outcome": outcome,
        "trial_date": str(day),
    }
    if outcome != "effective":
        whose = "prosecution" if case.rng.random() < rates.PROSECUTION_ATTRIBUTABLE else None
        whose = whose or case.rng.choice(("defence", "defence", "court", "other"))
        data |= {"attributable_to": whose, "reason": case.rng.choice(TRIAL_REASONS[whose])}
    case.rec.add(at(case.rng, day, 15, 18), "trial-outcome-recorded", **data)
