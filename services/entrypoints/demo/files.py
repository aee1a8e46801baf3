"""The demo week's police files and unused material (docs/contract.md sections 2 and 4,
"Added"): prosecutors assess some of the week's police files against the National File
Standard (most of Thames and Chiltern's issue 6 is file quality), send the force feedback on
those that fail on time, late or not at all, and record disclosure decisions on the Disclosure
Record Sheet after unused material is served (issue 8), on time, late or not at all. Drawn from
a generator of its own, so the rest of the week's draws do not move. The forces named are
fictional codes for the Area's forces."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from services.rules.calendar import Calendar

FORCES = ("thames-valley", "hertfordshire", "bedfordshire")
FAILINGS = ("missing-mg5", "missing-statements", "missing-exhibits", "missing-mg6", "late",
            "quality")  # fmt: skip
# Fates of the failed files' feedback and of the disclosure records, in order.
FEEDBACK_FATES = ("on-time", "on-time", "late", "never", "on-time")
RECORD_FATES = ("on-time", "on-time", "late", "never", "on-time", "late")
FILE_FEEDBACK_DAYS, DISCLOSURE_RECORD_DAYS = 5, 2  # the default pack's settings
_CAL = Calendar()

Add = Callable[..., None]
At = Callable[[date, int], datetime]


def files_and_disclosure(
    *, add: Add, at: At, cases: Sequence[tuple[str, str, str]], week: Sequence[date], seed: int
) -> None:
    """Eight files assessed Monday to Wednesday (three meet the standard), and unused material
    served in six cases through the week (one case's continuing disclosure too)."""
    rng = random.Random(f"files-and-disclosure-{seed}")
    chosen = rng.sample(sorted(cases), 8)
    failed = iter(FEEDBACK_FATES)
    for n, (urn, unit, owner) in enumerate(chosen):
        day = week[n % 3]
        met = n in (2, 5, 7)
        file_id = f"PF-{urn}-1"
        force = rng.choice(FORCES)
        failings = [] if met else sorted(rng.sample(FAILINGS, rng.randint(1, 2)))
        add("file-quality-assessed", at(day, 11), file_id=file_id, urn=urn, force=force,
            stage="first-hearing" if unit == "magistrates" else "post-plea", standard_met=met,
            failings=failings, assessed_by=owner, assessed_date=str(day))  # fmt: skip
        if met:
            continue
        due = _CAL.add_working_days(day, FILE_FEEDBACK_DAYS).result
        if (sent := _done(next(failed), due)) is not None:
            add("file-feedback-sent", at(sent, 15), file_id=file_id, force=force, sent_by=owner,
                sent_date=str(sent))  # fmt: skip
    served = [(c, "initial", week[n]) for n, c in enumerate(rng.sample(sorted(cases), 5))]
    served.append((served[0][0], "continuing", week[4]))
    for ((urn, _unit, owner), stage, day), fate in zip(served, RECORD_FATES, strict=True):
        add("unused-material-served", at(day, 12), urn=urn, stage=stage, served_date=str(day),
            served_by=owner)  # fmt: skip
        due = _CAL.add_working_days(day, DISCLOSURE_RECORD_DAYS).result
        if (done := _done(fate, due)) is not None:
            add("disclosure-decision-recorded", at(done, 16), urn=urn, stage=stage,
                recorded_by=owner, recorded_date=str(done))  # fmt: skip


def _done(fate: str, due: date) -> date | None:
    """On time: the due date itself; late: the working day after it; never: None."""
    if fate == "never":
        return None
    return due if fate == "on-time" else _CAL.add_working_days(due, 1).result


def demo_counts(events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many of each added event type the week holds (for the demo's own tests)."""
    found: dict[str, int] = {}
    for e in events:
        if e["type"] in {"file-quality-assessed", "file-feedback-sent",
                         "unused-material-served", "disclosure-decision-recorded"}:  # fmt: skip
            found[e["type"]] = found.get(e["type"], 0) + 1
    return found
