"""The demo's Individual Quality Assessments (docs/contract.md section 2, "Added event types:
IQA"): the Thames and Chiltern legal managers' IQAs of June and July 2017 and the DCCP's
reassessments, fixed (no random draws), so the demo shows a quota met, one missed, one not yet
due, sampled IQAs reassessed and one sample left lapsed, and some lenient ratings."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

AREA = "thames-and-chiltern"
BST = timezone(timedelta(hours=1))
STAGES = ("advice", "charging-and-review", "case-progression")
# manager, assessed day, prosecutor, rating, disclosure answer, reassessment (rating,
# disclosure answer, day) or None. TC-LM3's June IQAs are never reassessed: its sample lapses.
F, P, N = "fully-met", "partially-met", "not-met"
IQAS: tuple[tuple[str, date, str, str, str, tuple[str, str, date] | None], ...] = (
    ("TC-LM1", date(2017, 6, 7), "TC-P01", F, "yes", (P, "no", date(2017, 7, 5))),
    ("TC-LM1", date(2017, 6, 21), "TC-P02", F, "yes", (F, "yes", date(2017, 7, 5))),
    ("TC-LM2", date(2017, 6, 14), "TC-P03", P, "no", (P, "no", date(2017, 7, 6))),
    ("TC-LM3", date(2017, 6, 8), "TC-P05", F, "yes", None),
    ("TC-LM3", date(2017, 6, 22), "TC-P06", P, "yes", None),
    ("TC-LM1", date(2017, 7, 5), "TC-P01", F, "yes", (N, "no", date(2017, 8, 2))),
    ("TC-LM1", date(2017, 7, 12), "TC-P02", P, "no", (P, "no", date(2017, 8, 2))),
    ("TC-LM1", date(2017, 7, 19), "TC-P01", F, "yes", (F, "yes", date(2017, 8, 2))),
    ("TC-LM2", date(2017, 7, 6), "TC-P03", F, "yes", (F, "no", date(2017, 8, 3))),
    ("TC-LM2", date(2017, 7, 20), "TC-P04", F, "yes", (P, "yes", date(2017, 8, 3))),
    ("TC-LM3", date(2017, 7, 13), "TC-P05", N, "no", None),
)  # fmt: skip


def demo_iqas() -> list[tuple[datetime, str, dict[str, Any]]]:
    """(time, type, data) of each IQA and reassessment."""
    found: list[tuple[datetime, str, dict[str, Any]]] = []
    for n, (manager, day, prosecutor, rating, disclosure, again) in enumerate(IQAS, start=1):
        iqa_id = f"TC-IQA-{n:03d}"
        found.append(
            (
                _at(day, 15),
                "iqa-completed",
                {
                    "iqa_id": iqa_id,
                    "urn": f"43TC9{n:04d}17",
                    "stage": STAGES[n % 3],
                    "assessor": manager,
                    "prosecutor": prosecutor,
                    "assessed_date": str(day),
                    "answers": {"review-quality": rating, "disclosure-schedules": disclosure},
                    "rating": rating,
                    "area": AREA,
                },
            )
        )
        if again is not None:
            again_rating, again_disclosure, on = again
            found.append(
                (
                    _at(on, 11),
                    "iqa-reassessed",
                    {
                        "iqa_id": iqa_id,
                        "assessor": manager,
                        "assessed_date": str(day),
                        "reassessed_by": "TC-DCCP1",
                        "role": "senior-manager",
                        "reassessed_date": str(on),
                        "rating": again_rating,
                        "answers": {"disclosure-schedules": again_disclosure},
                    },
                )
            )
    return found


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=BST)
