"""A held-back national IQA set: three Areas, 33 IQAs in October 2026, 21 reassessed, with the
leniency rate and gap per Area, assessor and nationally worked out by hand (F fully-met,
P partially-met, N not-met; "lenient" when the assessor's rating is the more favourable;
"meeting the standard" is F):

wessex (LM-W1 magistrates, LM-W2 crown), reassessed pairs (assessor, reassessor):
  LM-W1: FP FF FN PP, and F P not reassessed: lenient FP FN = 2/4 = 50.0%;
         met 3 vs 1 of 4: gap +50.0 points
  LM-W2: FF PN NN FP, and F N not reassessed: lenient PN FP = 2/4 = 50.0%;
         met 2 vs 1 of 4: gap +25.0
  Area: 4/8 = 50.0%; met 5 vs 2 of 8: gap +37.5
thames-and-chiltern (LM-T1 crown): FF FF PP FP NN PP, and F P N not reassessed:
  lenient FP = 1/6 = 16.7%; met 3 vs 2 of 6: gap +16.7
east-of-england (LM-E1, LM-E2, both magistrates):
  LM-E1: FP FP FF PN, and F F not reassessed: lenient 3/4 = 75.0%; met 3 vs 1: gap +50.0
  LM-E2: PP NN FF, and F P N not reassessed: lenient 0/3 = 0.0%; met 1 vs 1: gap 0.0
  Area: 3/7 = 42.9% (42.857); met 4 vs 2 of 7: gap +28.6 (28.571)
national: lenient 8/21 = 38.1% (38.095); met 12 vs 6 of 21: gap +28.6 (28.571)

Traps: one IQA delivered twice (same source and id); LM-T1's FP pair was first reassessed F
by a senior manager and then P by an inspector (the later stands); one reassessment sent
twice; LM-W1's first IQA re-sent later with a corrected rating (F, first sent as P).
"""

from __future__ import annotations

from typing import Any

from tests.factories import event

ASSESSORS = {
    "LM-W1": ("wessex", "magistrates", "SM-W"),
    "LM-W2": ("wessex", "crown", "SM-W"),
    "LM-T1": ("thames-and-chiltern", "crown", "SM-T"),
    "LM-E1": ("east-of-england", "magistrates", "SM-E"),
    "LM-E2": ("east-of-england", "magistrates", "SM-E"),
}
PAIRS = {
    "LM-W1": ["FP", "FF", "FN", "PP", "F", "P"],
    "LM-W2": ["FF", "PN", "NN", "FP", "F", "N"],
    "LM-T1": ["FF", "FF", "PP", "FP", "NN", "PP", "F", "P", "N"],
    "LM-E1": ["FP", "FP", "FF", "PN", "F", "F"],
    "LM-E2": ["PP", "NN", "FF", "F", "P", "N"],
}
RATING = {"F": "fully-met", "P": "partially-met", "N": "not-met"}

# (reassessed, lenient, leniency %, gap in points) per group.
EXPECTED_AREAS = {
    "east-of-england": (7, 3, 42.9, 28.6),
    "thames-and-chiltern": (6, 1, 16.7, 16.7),
    "wessex": (8, 4, 50.0, 37.5),
}
EXPECTED_ASSESSORS = {
    "LM-E1": (4, 3, 75.0, 50.0),
    "LM-E2": (3, 0, 0.0, 0.0),
    "LM-T1": (6, 1, 16.7, 16.7),
    "LM-W1": (4, 2, 50.0, 50.0),
    "LM-W2": (4, 2, 50.0, 25.0),
}
EXPECTED_NATIONAL = (21, 8, 38.1, 28.6)
IQAS = 33


def national_set() -> list[dict[str, Any]]:
    """The wire events, in a fixed order (callers shuffle them)."""
    found: list[dict[str, Any]] = []
    for who, (area, unit, line_manager) in ASSESSORS.items():
        found.append(
            event("staff-updated", "2026-09-01T09:00:00+01:00", id_=f"staff-{who}", staff_id=who,
                  name=f"Manager {who}", email=f"{who.lower()}@example.org", role="legal-manager",
                  area=area, unit=unit, line_manager=line_manager, source=f"/hr/{area}")
        )  # fmt: skip
        for n, pair in enumerate(PAIRS[who]):
            day = f"2026-10-{2 + 2 * n:02d}"
            iqa_id = f"IQA-{who}-{n}"
            answers = {
                "review-quality": "yes",
                "disclosure-schedules": "yes" if pair[0] != "N" else "no",
            }
            found.append(
                event("iqa-completed", f"{day}T15:00:00+01:00", id_=f"c-{iqa_id}",
                      source=f"/cms/{area}", iqa_id=iqa_id, urn=f"43{who[-2:]}{n:07d}",
                      stage="advice", assessor=who, prosecutor="P-1", assessed_date=day,
                      answers=answers, rating=RATING[pair[0]])
            )  # fmt: skip
            if len(pair) == 2:
                found.append(reassessed(who, iqa_id, day, RATING[pair[1]], area))
    # Traps (see the module's docstring).
    found.append(dict(found[1]))  # LM-W1's first IQA delivered twice
    first_sent = {**found[1]["data"], "rating": "partially-met"}
    corrected = event(
        "iqa-completed", "2026-10-01T09:00:00+01:00", id_="c-early", source="/cms/wessex",
        **first_sent,
    )  # fmt: skip
    found.append(corrected)  # sent earlier with P: the later F stands
    t1_fp = "IQA-LM-T1-3"
    found.append(
        event("iqa-reassessed", "2026-11-03T10:00:00+00:00", id_=f"r-early-{t1_fp}",
              source="/cms/thames-and-chiltern", iqa_id=t1_fp, assessor="LM-T1",
              assessed_date="2026-10-08", reassessed_by="SM-T", role="senior-manager",
              reassessed_date="2026-11-03", rating="fully-met")
    )  # fmt: skip
    found.append(dict(next(e for e in found if e["id"] == "r-IQA-LM-E1-0")))
    return found


def reassessed(who: str, iqa_id: str, day: str, rating: str, area: str) -> dict[str, Any]:
    return event(
        "iqa-reassessed", "2026-11-05T10:00:00+00:00", id_=f"r-{iqa_id}", source=f"/cms/{area}",
        iqa_id=iqa_id, assessor=who, assessed_date=day, reassessed_by="INSP-1", role="inspector",
        reassessed_date="2026-11-05", rating=rating,
        answers={"disclosure-schedules": "no"},
    )  # fmt: skip
