"""The duties around a case's hearings: police files assessed and fed back, unused material
and the Disclosure Record Sheet, letters to victims (1 working day for the enhanced service,
else 5) and their Right to Review, custody time limits with their reviews and extensions, and
complaints."""

from __future__ import annotations

import random
from datetime import date, timedelta

from services.simulation import rates
from services.simulation.areas import Area
from services.simulation.case import Case
from services.simulation.days import CALENDAR, at, before, done_on, working
from services.simulation.record import Recorder

FAILINGS = ("missing-mg5", "missing-statements", "missing-exhibits", "missing-mg6", "late")


def police_file(case: Case, stage: str, day: date) -> None:
    """A police file assessed against the National File Standard; feedback when it falls short."""
    rng = case.rng
    file_id = f"{case.urn}-{stage}"
    force = case.area.forces[len(case.urn) % len(case.area.forces)]
    assessor = case.owner_on(day)
    met = rng.random() < rates.FILE_STANDARD_MET
    failings = [] if met else sorted(rng.sample(FAILINGS, rng.choice((1, 1, 2, 3))))
    case.rec.add(
        at(rng, day),
        "file-quality-assessed",
        file_id=file_id,
        urn=case.urn,
        force=force,
        stage=stage,
        standard_met=met,
        failings=failings,
        assessed_by=assessor,
        assessed_date=str(day),
    )
    if met:
        return
    sent = done_on(rng, rates.FILE_FEEDBACK, day, working(day, rates.FILE_FEEDBACK_DAYS))
    if sent is not None:
        case.rec.add(
            at(rng, sent),
            "file-feedback-sent",
            file_id=file_id,
            force=force,
            sent_by=assessor,
            sent_date=str(sent),
        )


def disclosure(case: Case, stage: str, served: date) -> None:
    rng = case.rng
    by = case.owner_on(served)
    case.rec.add(
        at(rng, served),
        "unused-material-served",
        urn=case.urn,
        stage=stage,
        served_date=str(served),
        served_by=by,
    )
    due = working(served, rates.DISCLOSURE_RECORD_DAYS)
    recorded = done_on(rng, rates.DISCLOSURE_RECORD, served, due)
    if recorded is not None:
        case.rec.add(
            at(rng, recorded),
            "disclosure-decision-recorded",
            urn=case.urn,
            stage=stage,
            recorded_by=case.owner_on(recorded),
            recorded_date=str(recorded),
        )


def victims(case: Case, decision: str, decided: date) -> None:
    """A decision owing a letter to each victim: 1 working day for the enhanced service, else 5."""
    rng = case.rng
    for v in range(1, (2 if rng.random() < 0.1 else 1) + 1):
        victim = f"{case.urn}-V{v}"
        enhanced = case.unit == "rasso" or rng.random() < rates.ENHANCED_SHARE
        case.rec.add(
            at(rng, decided, 11, 17),
            "victim-letter-due",
            urn=case.urn,
            victim_id=victim,
            decision=decision,
            decision_date=str(decided),
            enhanced=enhanced,
        )
        due = working(decided, 1 if enhanced else 5)
        sent = done_on(rng, rates.VICTIM_LETTER, decided, due)
        if sent is not None:
            case.rec.add(
                at(rng, sent),
                "victim-letter-sent",
                urn=case.urn,
                victim_id=victim,
                sent_date=str(sent),
            )
        if decision != "charge-altered" and rng.random() < rates.VRR_SHARE:
            vrr(case, victim, decision, decided)


def vrr(case: Case, victim: str, decision: str, decided: date) -> None:
    rng = case.rng
    request = f"{victim}-VRR"
    requested = working(decided, rng.randint(2, 10))
    for stage in ("local-resolution", "independent-review"):
        case.rec.add(
            at(rng, requested),
            "vrr-requested",
            request_id=request,
            urn=case.urn,
            victim_id=victim,
            decision=decision,
            decision_date=str(decided),
            requested_date=str(requested),
            stage=stage,
        )
        due = working(requested, rates.VRR_DAYS[stage])
        concluded = done_on(rng, rates.VRR, requested, due)
        if concluded is None:
            return
        outcome = rng.choices(("upheld", "overturned", "withdrawn"), (6, 2, 2))[0]
        case.rec.add(
            at(rng, concluded),
            "vrr-concluded",
            request_id=request,
            urn=case.urn,
            stage=stage,
            outcome=outcome,
            concluded_date=str(concluded),
        )
        if outcome != "upheld" or rng.random() >= 0.3:
            return
        requested = working(concluded, rng.randint(2, 10))


def custody_defendants(case: Case) -> list[str]:
    if case.rng.random() >= rates.CUSTODY[case.unit]:
        return []
    return [f"{case.urn}-D{d}" for d in range(1, (2 if case.rng.random() < 0.1 else 1) + 1)]


def custody(case: Case, defendants: list[str], start: date, end: date, reason: str) -> None:
    """Each defendant remanded from `start` until `end`: the limit set, its 28-day review, an
    extension whenever the end falls after the expiry (or release on bail), then its end."""
    rng = case.rng
    for defendant in defendants:
        ctl = {"urn": case.urn, "defendant_id": defendant}
        if case.unit == "magistrates":
            limit, days = rng.choice((("summary-56", 56), ("either-way-70", 70)))
            prior = 0
        else:
            limit, days, prior = "crown-182", 182, rng.choice((0, 0, 0, 1, 2))
        extra = {"prior_custody_days": prior} if prior else {}
        case.rec.add(
            at(rng, start, 10, 17),
            "custody-time-limit-set",
            **ctl,
            limit=limit,
            custody_start=str(start),
            **extra,
        )
        expiry = CALENDAR.custody_time_limit_expiry(start, days, prior).result
        due = expiry - timedelta(28)
        reviewed = done_on(rng, rates.CTL_REVIEW, min(start, due), due)
        if reviewed is not None and reviewed < end:
            case.rec.add(
                at(rng, reviewed),
                "custody-time-limit-reviewed",
                **ctl,
                reviewed_date=str(reviewed),
                reviewed_by=case.manager_on(reviewed),
            )
        custody_end(case, ctl, start, expiry, end, reason)


def custody_end(
    case: Case, ctl: dict[str, str], start: date, expiry: date, end: date, reason: str
) -> None:
    rng = case.rng
    for _extension in range(3):
        if end <= expiry:
            case.rec.add(at(rng, end, 10, 18), "custody-time-limit-ended", **ctl, reason=reason)
            return
        draw = rng.random()
        if draw < rates.CTL_EXPIRED:  # nobody noticed: the limit lapses
            return
        if draw < rates.CTL_RELEASED_INSTEAD:
            released = max(working(start, 1), before(expiry, rng.randint(0, 10)))
            case.rec.add(
                at(rng, released, 10, 18), "custody-time-limit-ended", **ctl, reason="released"
            )
            return
        applied = max(working(start, 1), before(expiry, rng.randint(2, 10)))
        expiry = max(end + timedelta(rng.randint(7, 28)), expiry + timedelta(28))
        case.rec.add(
            at(rng, applied, 10, 17),
            "custody-time-limit-ended",
            **ctl,
            reason="extended",
            new_expires_on=str(expiry),
        )
    case.rec.add(at(rng, end, 10, 18), "custody-time-limit-ended", **ctl, reason=reason)


def complaint(
    rng: random.Random, rec: Recorder, area: Area, complaint_id: str, received: date,
    urn: str | None = None,
) -> None:  # fmt: skip
    """A complaint answered at stage 1 within 20 working days (or late, or not at all), and
    now and then taken to stage 2."""
    for stage in (1, 2):
        extra = {"urn": urn} if urn else {}
        rec.add(
            at(rng, received),
            "complaint-received",
            complaint_id=complaint_id,
            area=area.slug,
            received_date=str(received),
            stage=stage,
            **extra,
        )
        answered = done_on(
            rng, rates.COMPLAINT_RESPONSE, received, working(received, rates.COMPLAINT_DAYS)
        )
        if answered is None:
            return
        rec.add(
            at(rng, answered),
            "complaint-responded",
            complaint_id=complaint_id,
            stage=stage,
            responded_date=str(answered),
        )
        if rng.random() >= rates.COMPLAINT_ESCALATED:
            return
        received = working(answered, rng.randint(5, 20))
