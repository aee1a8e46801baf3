"""An Area's own assurance and its inspection follow-up, month by month: IQAs by legal managers
and their reassessment, the "10% check of managers' checks" of finalisations, complaints that
name no case, and now and then an Area assurance inspection with the Area's responses.

Which IQAs and checks the rule pack will draw for checking again is worked out the pack's way
(docs/contract.md section 4: ranked by SHA-256 of rule, key and item, the first
ceil(percent x n) drawn), so the reassessments the stories write are of drawn items and the
rate they meet is the rate the lapse clock sees.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from datetime import date, timedelta

from services.simulation import rates
from services.simulation.areas import Area
from services.simulation.days import at, done_on, working
from services.simulation.record import Recorder
from services.simulation.staff import Staff

IQA_STAGES = ("advice", "charging-and-review", "case-progression")
TRUE_RATINGS = (("fully-met", 0.55), ("partially-met", 0.33), ("not-met", 0.12))
FOLLOW_UP_RATINGS = ("achieved", "partially-achieved", "not-achieved", "no-longer-relevant")
BETTER = {"partially-met": "fully-met", "not-met": "partially-met"}
# P(an IQA rated one step too favourably | it deserved less than fully-met), so that the share
# of all IQAs rated too leniently is rates.IQA_LENIENT (12.1%).
_LENIENT_GIVEN_ROOM = rates.IQA_LENIENT / (1 - TRUE_RATINGS[0][1])
CRITERIA = (
    "casework-quality",
    "continuously-improving",
    "success-of-cps-people",
    "public-confidence",
)


def drawn(rule: str, key: str, items: Sequence[str], percent: int) -> set[str]:
    """The items the rule pack's monthly sample draws (services/rules/sampling.py)."""
    ranked = sorted(
        set(items), key=lambda item: hashlib.sha256(f"{rule}\n{key}\n{item}".encode()).hexdigest()
    )
    return set(ranked[: math.ceil(percent / 100 * len(ranked))])


def month_end(day: date) -> date:
    first_next = (day.replace(day=1) + timedelta(32)).replace(day=1)
    return first_next - timedelta(1)


def iqas(
    *,
    rng: random.Random,
    area: Area,
    staff: Staff,
    rec: Recorder,
    month: date,
    first_day: date,
    teams: dict[str, list[tuple[str, str]]],
) -> None:
    """Each legal manager's IQAs of the month from `first_day`, on cases of their team
    (`teams`: manager -> recent (urn, prosecutor)), then the drawn ones reassessed."""
    last = month_end(month)
    days = [d for d in (first_day + timedelta(n) for n in range((last - first_day).days + 1))
            if d.weekday() < 5]  # fmt: skip
    if not days:
        return
    for manager in staff.having("legal-manager"):
        cases = teams.get(manager, [])
        count = rng.choices([c for c, _ in rates.IQAS_A_MONTH], [w for _, w in rates.IQAS_A_MONTH])[
            0
        ]
        done: list[tuple[str, date, str]] = []  # iqa id, date, true rating
        for n in range(1, min(count, len(cases)) + 1):
            urn, prosecutor = cases[-n]
            iqa_id = f"IQA-{manager}-{month:%Y-%m}-{n}"
            day, truth = rng.choice(days), _rating(rng, TRUE_RATINGS)
            given = truth
            if truth in BETTER and rng.random() < _LENIENT_GIVEN_ROOM:
                given = BETTER[truth]
            stage = "advice" if area.direct else rng.choice(IQA_STAGES[1:])
            rec.add(
                at(rng, day),
                "iqa-completed",
                iqa_id=iqa_id,
                urn=urn,
                stage=stage,
                assessor=manager,
                prosecutor=prosecutor,
                assessed_date=str(day),
                answers=_answers(rng, given),
                rating=given,
                area=area.slug,
            )
            done.append((iqa_id, day, truth))
        _reassess(rng, staff, rec, manager, month, done)


def _reassess(
    rng: random.Random,
    staff: Staff,
    rec: Recorder,
    manager: str,
    month: date,
    done: list[tuple[str, date, str]],
) -> None:
    key = f"{manager}/{month:%Y-%m}"
    chosen = drawn("iqa-reassessment", key, [iqa for iqa, _, _ in done], rates.SAMPLE_PERCENT)
    end = month_end(month)
    due = working(end, rates.SAMPLE_DAYS)
    for iqa_id, day, truth in done:
        if iqa_id not in chosen:
            continue
        when = done_on(rng, rates.IQA_REASSESSED, working(end, 1), due)
        if when is None:
            continue
        role = "inspector" if rng.random() < 0.05 else "senior-manager"
        by = "HMCPSI-I1" if role == "inspector" else staff.manager_of(manager) or manager
        rec.add(
            at(rng, when),
            "iqa-reassessed",
            iqa_id=iqa_id,
            assessor=manager,
            assessed_date=str(day),
            reassessed_by=by,
            role=role,
            reassessed_date=str(when),
            rating=truth,
        )


def sampled_checks(
    *,
    rng: random.Random,
    staff: Staff,
    rec: Recorder,
    month: date,
    checks: dict[str, list[tuple[str, date]]],
) -> None:
    """The month's finalisation checks (manager -> [(urn, checked_date)]) drawn for the
    "10% check of managers' checks", each checked again by the manager's line manager."""
    end = month_end(month)
    due = working(end, rates.SAMPLE_DAYS)
    for manager, made in sorted(checks.items()):
        key = f"{manager}/{month:%Y-%m}"
        chosen = drawn("assurance-sample", key, [urn for urn, _ in made], rates.SAMPLE_PERCENT)
        for urn, checked in sorted(set(made)):
            if urn not in chosen:
                continue
            chosen.discard(urn)
            when = done_on(rng, rates.SAMPLED_CHECK, working(end, 1), due)
            if when is None:
                continue
            rec.add(
                at(rng, when),
                "sampled-check-reviewed",
                urn=urn,
                checked_by=manager,
                checked_date=str(checked),
                reviewed_by=staff.manager_of(manager) or manager,
                reviewed_date=str(when),
                outcome="corrected" if rng.random() < 0.1 else "confirmed",
            )


def inspection(
    *, rng: random.Random, area: Area, staff: Staff, published: date, number: int
) -> Recorder:
    """An Area assurance inspection: ratings on the four criteria, its issues to address, the
    Area's response to each (one-off with a due date, or a recurring check with evidence), and
    some actions completed."""
    inspection_id = f"HMCPSI-{area.letters}-{published:%Y}-{number}"
    rec = Recorder("/hmcpsi", inspection_id)
    ratings = {c: rng.choice(("good", "fair", "fair", "poor")) for c in CRITERIA}
    rec.add(
        at(rng, published, 9, 10),
        "inspection-published",
        inspection_id=inspection_id,
        title=f"Area Assurance Inspection of CPS {area.name}",
        kind="area-assurance",
        area=area.slug,
        published_date=str(published),
        ratings=ratings,
    )
    owners = [staff.first("abm"), *staff.having("dccp")]
    for r in range(1, rng.randint(4, 8) + 1):
        recommendation = f"{inspection_id}-R{r}"
        rec.add(
            at(rng, published, 10, 11),
            "recommendation-issued",
            inspection_id=inspection_id,
            recommendation_id=recommendation,
            number=r,
            kind="issue-to-address",
            text=f"The Area should address issue {r}.",
            area=area.slug,
        )
        _response(rng, rec, recommendation, rng.choice(owners), published)
        assessed = working(published + timedelta(rng.randint(330, 365)))  # the follow-up visit
        rating = rng.choices(FOLLOW_UP_RATINGS, (4, 3, 2, 1))[0]
        rec.add(
            at(rng, assessed),
            "follow-up-assessed",
            recommendation_id=recommendation,
            rating=rating,
            assessed_by="HMCPSI-I1",
            assessed_date=str(assessed),
        )
    return rec


def _response(
    rng: random.Random, rec: Recorder, recommendation: str, owner: str, published: date
) -> None:
    action = f"{recommendation}-A1"
    committed = working(published, rng.randint(5, 20))
    base = {
        "recommendation_id": recommendation,
        "action_id": action,
        "owner": owner,
        "response": rng.choice(("agreed", "agreed", "agreed", "partly-agreed")),
        "text": "We will put this right and report on progress.",
    }
    if rng.random() < 0.5:
        due = working(committed + timedelta(rng.randint(30, 120)))
        rec.add(at(rng, committed), "response-committed", **base, due_date=str(due))
        done = done_on(rng, rates.Timeliness(0.6, 0.2), committed, due)
        if done is not None:
            rec.add(
                at(rng, done),
                "action-completed",
                action_id=action,
                completed_date=str(done),
                completed_by=owner,
            )
        return
    every = rng.choice(("weekly", "monthly", "monthly"))
    starts = working(committed, 1)
    rec.add(at(rng, committed), "response-committed", **base, recurrence=every, starts=str(starts))
    step = 7 if every == "weekly" else 30
    for period in range(1, 27 if every == "weekly" else 7):
        if rng.random() < 0.8:
            day = working(starts + timedelta(step * (period - 1) + rng.randint(0, step - 3)))
            rec.add(
                at(rng, day),
                "action-evidence-recorded",
                action_id=action,
                evidence=f"https://intranet.cps.example/{action}/{period}",
                recorded_by=owner,
                recorded_date=str(day),
            )


def _rating(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _answers(rng: random.Random, rating: str) -> dict[str, str]:
    good = rating == "fully-met"
    return {
        "review-quality": "yes" if good or rng.random() < 0.5 else "no",
        "case-progression": "yes" if good or rng.random() < 0.6 else "no",
        "disclosure-schedules": "yes" if good or rng.random() < 0.4 else "no",
    }
