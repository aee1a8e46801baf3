"""Trial outcomes for `followup demo` (docs/contract.md section 9, "Added: trials not
proceeding"): six months, February to July 2017, of trials in the demo Area and in three
others, so the packs and the Area page show its rate against the rate measured nationally.

The seed reports name the measure (East of England's rate "worse than the national average in
both magistrates' courts and the Crown Court") but give no rates: the shares below are made
up for the demo, the demo Area's set somewhat worse than the others'. Deterministic: fixed ids,
a seeded random draw, so a second run publishes only duplicates.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

from services.entrypoints.demo.week import AREA

OTHERS = ("east-of-england", "wessex", "north-east")
MONTHS = tuple(date(2017, month, 1) for month in range(2, 8))
TRIALS = {"magistrates": 18, "crown": 7}  # per Area and month
# Trials a month that did not proceed for prosecution reasons, by court type (give or take one
# before July): 3 of 18 and 2 of 7 in the demo Area, 2 of 18 and 1 of 7 elsewhere.
PROSECUTION = {AREA: {"magistrates": 3, "crown": 2}}
USUAL = {"magistrates": 2, "crown": 1}
# The other outcomes: (outcome, attributable to, reason, weight).
OTHER_OUTCOMES: tuple[tuple[str, str | None, str | None, int], ...] = (
    ("effective", None, None, 50),
    ("cracked", "defence", "late guilty plea", 25),
    ("ineffective", "court", "court over-listed", 8),
    ("ineffective", "defence", "defendant absent", 6),
    ("ineffective", "other", "interpreter not available", 3),
)
PROSECUTION_OUTCOMES = (
    ("cracked", "no evidence offered: key witness not warned"),
    ("ineffective", "prosecution witness absent"),
    ("ineffective", "prosecution not ready: disclosure not served"),
)
BST = timezone(timedelta(hours=1))


def demo_trials(seed: int = 2017) -> list[dict[str, Any]]:
    """The trial outcomes as CloudEvent dicts, ids stable."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for area in (AREA, *OTHERS):
        failing = PROSECUTION.get(area, USUAL)
        for month in MONTHS:
            for court, count in TRIALS.items():
                jitter = 0 if month == MONTHS[-1] else rng.choice((-1, 0, 1))
                failed = set(rng.sample(range(count), max(0, failing[court] + jitter)))
                for n in range(count):
                    day = month + timedelta(days=rng.randrange(27))
                    events.append(_trial(rng, area, court, day, n, n in failed))
    # A trial first recorded as effective and corrected: the later outcome stands.
    first = events[0]
    corrected = {
        **first,
        "id": f"{first['id']}-corrected",
        "time": _at(date.fromisoformat(first["data"]["trial_date"]) + timedelta(days=1)),
        "data": {
            **first["data"],
            "outcome": "ineffective",
            "attributable_to": "prosecution",
            "reason": "corrected: prosecution witness absent",
        },
    }
    return [*events, corrected]


def _trial(
    rng: random.Random, area: str, court: str, day: date, n: int, failed: bool
) -> dict[str, Any]:
    by: str | None
    reason: str | None
    if failed:
        outcome, reason = rng.choice(PROSECUTION_OUTCOMES)
        by = "prosecution"
    else:
        weights = [w for *_, w in OTHER_OUTCOMES]
        outcome, by, reason, _ = rng.choices(OTHER_OUTCOMES, weights=weights)[0]
    code = "".join(word[0] for word in area.split("-")).upper()
    urn = f"{code}TR{day:%m%d}{n:02d}{court[0].upper()}"
    data: dict[str, Any] = {
        "urn": urn,
        "hearing_id": f"{urn}-T1",
        "court_type": court,
        "outcome": outcome,
        "trial_date": day.isoformat(),
        "area": area,
    }
    if by is not None:
        data |= {"attributable_to": by, "reason": reason}
    return {
        "specversion": "1.0",
        "id": f"demo-trial-{urn}",
        "source": f"/cms/{area}/trials",
        "type": "trial-outcome-recorded",
        "time": _at(day),
        "subject": urn,
        "datacontenttype": "application/json",
        "data": data,
    }


def _at(day: date) -> str:
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=BST).isoformat()
