"""IQA leniency measures (docs/contract.md section 9, "Added: IQA leniency"): a pure function
of the set of `iqa-completed` and `iqa-reassessed` facts, never of their arrival order.

- An IQA is its `iqa-completed` event; of several for one `iqa_id`, the latest by `time`
  (ties by source and id) stands. A reassessment likewise: the latest `iqa-reassessed` for
  the `iqa_id` stands. A duplicate delivery (same source and id) is one fact.
- Leniency rate: reassessed IQAs the assessor rated more favourably than the reassessor (an
  earlier place in events.iqa.RATINGS) over all reassessed IQAs.
- Gap: the share of reassessed IQAs the assessor rated as meeting the standard
  (events.iqa.STANDARD_MET) minus the share the reassessors did, in percentage points.
- Both percentages are rounded half up to one decimal; None when nothing was reassessed.
- Disclosure answers (question ids starting `disclosure-`) are reported on their own: per
  question, the assessors' answers counted by value, and, where the reassessor answered the
  same question too, how many of those pairs agree.
- Groups: each assessor, the assessor's unit and Area (from their latest `staff-updated`;
  the IQA's own `area` stands over the assessor's), and national.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from events.iqa import DISCLOSURE_PREFIX, RATINGS, STANDARD_MET
from services.rules.model import Fact

Level = Literal["assessor", "unit", "area", "national"]
NATIONAL = "national"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Iqa:
    iqa_id: str
    assessor: str
    assessed_date: date
    rating: str
    answers: Mapping[str, str]
    area: str | None
    reassessed_rating: str | None = None
    reassessed_answers: Mapping[str, str] | None = None
    reassessed_role: str | None = None


@dataclass(frozen=True, slots=True)
class DisclosureQuestion:
    question: str
    answers: tuple[tuple[str, int], ...]  # (value, count), by value
    compared: int  # IQAs where both the assessor and the reassessor answered it
    agreed: int


@dataclass(frozen=True, slots=True)
class IqaGroup:
    level: Level
    name: str
    iqas: int
    reassessed: int
    lenient: int
    leniency_pct: float | None
    assessor_met: int  # of the reassessed, those the assessor rated as meeting the standard
    reassessor_met: int
    gap_pp: float | None
    disclosure: tuple[DisclosureQuestion, ...]


@dataclass(frozen=True, slots=True)
class IqaMeasures:
    assessors: tuple[IqaGroup, ...]
    units: tuple[IqaGroup, ...]
    areas: tuple[IqaGroup, ...]
    national: IqaGroup


def percent(part: int, whole: int) -> float | None:
    """100 x part / whole, rounded half up to one decimal; None for an empty whole."""
    if whole == 0:
        return None
    value = Decimal(100 * part) / Decimal(whole)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def gap_points(assessor_met: int, reassessor_met: int, whole: int) -> float | None:
    """The assessors' share meeting the standard minus the reassessors', in points."""
    if whole == 0:
        return None
    value = Decimal(100 * (assessor_met - reassessor_met)) / Decimal(whole)
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def more_favourable(first: str, second: str) -> bool:
    return RATINGS.index(first) < RATINGS.index(second)


def iqas_of(
    facts: Iterable[Fact], *, first: date | None = None, last: date | None = None
) -> list[Iqa]:
    """Each IQA (the standing `iqa-completed`) with its standing reassessment, those assessed
    between `first` and `last` (inclusive) when given, by iqa_id."""
    completed: dict[str, Fact] = {}
    reassessed: dict[str, Fact] = {}
    for fact in facts:
        found = {"iqa-completed": completed, "iqa-reassessed": reassessed}.get(fact.type)
        iqa_id = fact.data.get("iqa_id")
        if found is None or not iqa_id:
            continue
        if (held := found.get(iqa_id)) is None or fact.order > held.order:
            found[iqa_id] = fact
    result = []
    for iqa_id in sorted(completed):
        data = completed[iqa_id].data
        on = date.fromisoformat(str(data["assessed_date"]))
        if (first and on < first) or (last and on > last):
            continue
        again = reassessed[iqa_id].data if iqa_id in reassessed else None
        result.append(
            Iqa(
                iqa_id=iqa_id,
                assessor=str(data["assessor"]),
                assessed_date=on,
                rating=str(data["rating"]),
                answers=_answers(data.get("answers")),
                area=str(data["area"]) if data.get("area") else None,
                reassessed_rating=str(again["rating"]) if again else None,
                reassessed_answers=_answers(again.get("answers")) if again else None,
                reassessed_role=str(again["role"]) if again else None,
            )
        )
    return result


def staff_places(staff: Iterable[Fact]) -> dict[str, tuple[str | None, str | None]]:
    """Each staff id's (unit, area) from their latest `staff-updated` by `time`."""
    latest: dict[str, Fact] = {}
    for fact in staff:
        if fact.type != "staff-updated" or not (who := fact.data.get("staff_id")):
            continue
        if (held := latest.get(who)) is None or fact.order > held.order:
            latest[who] = fact
    return {
        who: (_text(f.data.get("unit")), _text(f.data.get("area"))) for who, f in latest.items()
    }


def measures(
    facts: Iterable[Fact],
    *,
    staff: Iterable[Fact] = (),
    places: Mapping[str, tuple[str | None, str | None]] | None = None,
    first: date | None = None,
    last: date | None = None,
) -> IqaMeasures:
    """The leniency measures per assessor, unit, Area and nationally. The assessors' units
    and Areas come from `places` (staff id -> (unit, area)) when given, else `staff`."""
    iqas = iqas_of(facts, first=first, last=last)
    places = staff_places(staff) if places is None else places
    by: dict[tuple[Level, str], list[Iqa]] = {}
    for iqa in iqas:
        unit, staff_area = places.get(iqa.assessor, (None, None))
        area = iqa.area or staff_area or UNKNOWN
        by.setdefault(("assessor", iqa.assessor), []).append(iqa)
        by.setdefault(("unit", f"{area}/{unit or UNKNOWN}"), []).append(iqa)
        by.setdefault(("area", area), []).append(iqa)
    groups = {key: group(key[0], key[1], members) for key, members in sorted(by.items())}

    def of(level: Level) -> tuple[IqaGroup, ...]:
        return tuple(g for (lv, _), g in groups.items() if lv == level)

    return IqaMeasures(
        assessors=of("assessor"),
        units=of("unit"),
        areas=of("area"),
        national=group("national", NATIONAL, iqas),
    )


def group(level: Level, name: str, iqas: list[Iqa]) -> IqaGroup:
    again = [i for i in iqas if i.reassessed_rating is not None]
    lenient = sum(1 for i in again if more_favourable(i.rating, str(i.reassessed_rating)))
    assessor_met = sum(1 for i in again if i.rating in STANDARD_MET)
    reassessor_met = sum(1 for i in again if i.reassessed_rating in STANDARD_MET)
    return IqaGroup(
        level=level,
        name=name,
        iqas=len(iqas),
        reassessed=len(again),
        lenient=lenient,
        leniency_pct=percent(lenient, len(again)),
        assessor_met=assessor_met,
        reassessor_met=reassessor_met,
        gap_pp=gap_points(assessor_met, reassessor_met, len(again)),
        disclosure=disclosure(iqas),
    )


def disclosure(iqas: Iterable[Iqa]) -> tuple[DisclosureQuestion, ...]:
    counts: dict[str, Counter[str]] = {}
    compared: Counter[str] = Counter()
    agreed: Counter[str] = Counter()
    for iqa in iqas:
        for question, answer in iqa.answers.items():
            if not question.startswith(DISCLOSURE_PREFIX):
                continue
            counts.setdefault(question, Counter())[answer] += 1
            other = (iqa.reassessed_answers or {}).get(question)
            if other is not None:
                compared[question] += 1
                agreed[question] += other == answer
    return tuple(
        DisclosureQuestion(q, tuple(sorted(counts[q].items())), compared[q], agreed[q])
        for q in sorted(counts)
    )


def _answers(raw: Any) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)
