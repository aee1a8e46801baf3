"""One case's events, from registration to finalisation: pure, given the case's own random
generator, so a case reads the same whatever else is generated.

Magistrates' cases: a first hearing about 14 days after charge for an anticipated guilty plea,
28 otherwise (Transforming Summary Justice, domain.md), a guilty plea there or a trial listed 6
to 10 weeks later. Crown Court and RASSO cases: sent from the magistrates' court, the plea and
trial preparation hearing (PTPH) 28 days after sending (Better Case Management), then a plea or
a trial months later. Around the hearings: record sheets, case reviews before the first hearing,
the PTPH and trial, police file assessments, disclosure, victim letters, custody time limits,
VRR, complaints, reallocation and finalisation, each on time, late or never at the rates of
services/simulation/rates.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from services.simulation import rates
from services.simulation.areas import Area
from services.simulation.case import Case
from services.simulation.days import at, done_on, working
from services.simulation.duties import (
    complaint,
    custody,
    custody_defendants,
    disclosure,
    police_file,
    victims,
)
from services.simulation.hearings import hearing, held, list_hearing, trial_outcome, until_held
from services.simulation.record import Recorder
from services.simulation.staff import Staff

OUTCOMES_OK = ("guilty-plea", "conviction-after-trial")
OUTCOMES_BAD = (
    ("dismissed-after-trial", "conflict-of-evidence"),
    ("judge-directed-acquittal", "unreliable-witness"),
    ("no-evidence-offered", "essential-legal-element-missing"),
)
REALLOCATION_REASONS = (
    "owner over capacity at the weekly call",
    "owner on leave; review due",
    "rebalancing the team's caseload",
)


@dataclass(slots=True)
class CaseFacts:
    """What the Area's assurance stories need to know of a case."""

    urn: str
    unit: str
    owner: str
    manager: str | None
    checks: list[tuple[str, date]] = field(default_factory=list)  # (manager, checked_date)


def case_story(
    *, rng: random.Random, area: Area, staff: Staff, urn: str, registered: date
) -> tuple[list[Any], CaseFacts]:
    """The case's events (record.Raw) and its facts for the Area's assurance stories."""
    unit = "charging" if area.direct else _unit(rng)
    owner = rng.choice(staff.having("prosecutor", unit))
    case = Case(rng, area, staff, Recorder(f"/cms/{area.slug}", urn), urn, unit, owner, registered)
    case.rec.add(
        at(rng, registered, 8, 12),
        "case-registered",
        urn=urn,
        area=area.slug,
        unit=unit,
        owner=owner,
    )
    facts = CaseFacts(urn, unit, owner, staff.manager_of(owner))
    if area.direct or rng.random() < rates.NO_CHARGE_SHARE / 2:
        _charging_decision(case)
        return case.rec.events, facts
    _reallocation(case)
    police_file(case, "first-hearing", registered)
    if unit == "magistrates":
        end, finalised = _magistrates(case)
    else:
        end, finalised = _crown(case)
    if finalised is not None:
        facts.checks.extend(_finalise(case, *finalised))
    if rng.random() < rates.COMPLAINT_PER_CASE:
        complaint(case.rng, case.rec, area, f"{urn}-C1", working(registered + timedelta(14)), urn)
    facts.owner = case.owner_on(end)
    return case.rec.events, facts


def _unit(rng: random.Random) -> str:
    units = rates.UNITS
    return rng.choices([u for u, _ in units], weights=[w for _, w in units])[0]


# --- charging decisions ---------------------------------------------------------------------


def _charging_decision(case: Case) -> None:
    """A pre-charge case: the police file assessed; no charge (with a letter to the victim) or
    a charge, after which the case goes on in an Area (not simulated for CPS Direct)."""
    decided = working(case.registered, case.rng.randint(0, 3))
    police_file(case, "pre-charge", case.registered)
    if case.area.direct and case.rng.random() >= rates.NO_CHARGE_SHARE:
        return
    if case.rng.random() < rates.NO_CHARGE_VICTIM:
        victims(case, "no-charge", decided)


# --- magistrates' and Crown Court stories ----------------------------------------------------


def _magistrates(case: Case) -> tuple[date, tuple[date, bool, str, str | None] | None]:
    rng = case.rng
    guilty = rng.random() < rates.GUILTY_AT_FIRST_HEARING
    first = working(
        case.registered + timedelta(rng.randint(10, 18) if guilty else rng.randint(21, 35))
    )
    remanded = custody_defendants(case)
    held = until_held(case, "magistrates", first, "magistrates-first-hearing", case.registered)
    if guilty:  # convicted at once: no custody time limit runs
        return held, (held, True, "guilty-plea", None)
    return _to_trial(case, "magistrates", held, rng.randint(42, 70), remanded)


def _crown(case: Case) -> tuple[date, tuple[date, bool, str, str | None] | None]:
    rng = case.rng
    sending = working(case.registered + timedelta(rng.randint(1, 10)))
    remanded = custody_defendants(case)
    sent = until_held(case, "magistrates", sending, None, case.registered)
    ptph = until_held(case, "crown", working(sent + timedelta(28)), "crown-ptph", sent)
    if rng.random() < 0.35:  # a guilty plea at the PTPH
        custody(case, remanded, sent, ptph, "case-finalised")
        return ptph, (ptph, True, "guilty-plea", None)
    return _to_trial(case, "crown", ptph, rng.randint(84, 210), remanded, custody_from=sent)


def _to_trial(
    case: Case,
    court_type: str,
    plea: date,
    days_to_trial: int,
    remanded: list[str],
    custody_from: date | None = None,
) -> tuple[date, tuple[date, bool, str, str | None] | None]:
    """A not guilty plea on `plea`: files, disclosure, a trial (relisted while ineffective),
    and perhaps a discontinuance on the way, with its letter to the victim."""
    rng = case.rng
    police_file(case, "post-plea", working(plea + timedelta(rng.randint(7, 21))))
    served = working(plea + timedelta(rng.randint(7, 28)))
    disclosure(case, "initial", served)
    if rng.random() < 0.35:
        disclosure(case, "continuing", working(served + timedelta(rng.randint(14, 42))))
    trial_day = working(plea + timedelta(days_to_trial))
    stage = f"{court_type}-trial"
    if rng.random() < rates.VICTIM_DECISION_SHARE:
        decided = working(plea + timedelta(rng.randint(7, max(8, days_to_trial - 7))))
        if rng.random() < 0.5:  # discontinued: the trial is vacated
            hearing_id = list_hearing(case, court_type, trial_day, stage, plea)
            hearing(case, hearing_id, court_type, trial_day, "vacated", at_day=decided)
            victims(case, "discontinued", decided)
            custody(case, remanded, custody_from or plea, decided, "case-finalised")
            return decided, (decided, False, "discontinued", "victim-retraction")
        victims(case, "charge-altered", decided)
    listed_on = plea
    for attempt in range(3):
        hearing_id = list_hearing(case, court_type, trial_day, stage, listed_on)
        outcome = case.pick(rates.TRIAL_OUTCOMES) if attempt < 2 else "effective"
        trial_outcome(case, hearing_id, court_type, trial_day, outcome)
        if outcome != "ineffective":
            break
        hearing(case, hearing_id, court_type, trial_day, "adjourned")
        listed_on, trial_day = trial_day, working(trial_day + timedelta(rng.randint(28, 56)))
    held(case, hearing_id, court_type, trial_day)
    custody(case, remanded, custody_from or plea, trial_day, "trial-started")
    if rng.random() < rates.UNSUCCESSFUL / 0.6:  # most unsuccessful cases end at trial
        outcome_bad, code = rng.choice(OUTCOMES_BAD)
        return trial_day, (trial_day, False, outcome_bad, code)
    return trial_day, (trial_day, True, rng.choice(OUTCOMES_OK), None)


def _reallocation(case: Case) -> None:
    """Now and then the weekly call moves a case to another lawyer of the unit (Tuesday)."""
    rng = case.rng
    others = [p for p in case.staff.having("prosecutor", case.unit) if p != case.owner]
    if not others or rng.random() >= rates.REALLOCATED:
        return
    day = case.registered + timedelta(rng.randint(7, 42))
    day = working(day - timedelta(day.weekday()) + timedelta(1))  # that week's Tuesday
    new_owner = rng.choice(others)
    by = case.staff.first("dccp")  # the DCCP chairs the weekly call
    case.moved = (day, new_owner)
    case.rec.add(
        at(rng, day, 11, 16),
        "case-reallocated",
        urn=case.urn,
        new_owner=new_owner,
        reason=rng.choice(REALLOCATION_REASONS),
        reallocated_by=by,
        reallocated_date=str(day),
    )


def _finalise(
    case: Case, day: date, successful: bool, outcome: str, code: str | None
) -> list[tuple[str, date]]:
    """The finalisation (its reason code missing now and then, and perhaps corrected later),
    and a legal manager's check of it; the checks made, for the monthly sample."""
    rng = case.rng
    base = {"urn": case.urn, "finalised_date": str(day), "outcome": outcome}
    missing = not successful and rng.random() < rates.REASON_CODE_MISSING
    if successful or missing:
        case.rec.add(at(rng, day, 12, 18), "case-finalised", **base, successful=successful)
    else:
        case.rec.add(
            at(rng, day, 12, 18),
            "case-finalised",
            **base,
            successful=False,
            unsuccessful_reason_code=code,
        )
    if missing:
        fixed = done_on(rng, rates.REASON_CODE_CORRECTED, working(day, 1), working(day, 5))
        if fixed is not None:
            case.rec.add(
                at(rng, fixed),
                "case-finalised",
                **base,
                successful=False,
                unsuccessful_reason_code=code,
            )
    if rng.random() >= rates.FINALISATION_CHECKED:
        return []
    checked = working(day, rng.randint(1, 8))
    manager = case.manager_on(checked)
    case.rec.add(
        at(rng, checked),
        "finalisation-checked",
        urn=case.urn,
        checked_by=manager,
        checked_date=str(checked),
        area=case.area.slug,
    )
    return [(manager, checked)]
