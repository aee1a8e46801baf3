"""The packs' IQA section from the obligations and measures read (pure; docs/contract.md
section 9, "Added: IQA in the monthly and quarterly packs")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from services.summaries.iqa import IqaGroup, IqaMeasures
from services.summaries.packs.iqa_section import IqaManager, IqaSection
from services.summaries.packs.model import Item, counts_of, in_period
from services.summaries.packs.periods import PackPeriod

IQA_QUOTA = "iqa-quota"
IQA_REASSESSMENT = "iqa-reassessment"
IQA_RULES = (IQA_QUOTA, IQA_REASSESSMENT)


def assessor_of(item: Item) -> str:
    """The first part of the key `ASSESSOR/YYYY-MM`."""
    return item.key.rsplit("/", 1)[0]


def iqa_section(
    items: Sequence[Item],
    *,
    period: PackPeriod,
    assessed: PackPeriod,
    as_of: date,
    area: str,
    measures: IqaMeasures,
    managers: Mapping[str, str],
) -> IqaSection:
    quota = in_period(items, period, IQA_QUOTA)
    again = in_period(items, period, IQA_REASSESSMENT)
    mine = next((g for g in measures.areas if g.name == area), None)
    area_group = mine or IqaGroup("area", area, 0, 0, 0, None, 0, 0, None, ())
    by_assessor = {
        g.name: g
        for g in measures.assessors
        if g.name in managers or any(assessor_of(i) == g.name for i in [*quota, *again])
    }
    rows = []
    for who in sorted(
        set(managers) | set(by_assessor) | {assessor_of(i) for i in [*quota, *again]}
    ):
        group = by_assessor.get(who)
        rows.append(
            IqaManager(
                manager=who,
                name=managers.get(who),
                iqas=group.iqas if group else 0,
                quota=counts_of((i for i in quota if assessor_of(i) == who), as_of),
                reassessment=counts_of((i for i in again if assessor_of(i) == who), as_of),
                reassessed=group.reassessed if group else 0,
                lenient=group.lenient if group else 0,
                leniency_pct=group.leniency_pct if group else None,
                gap_pp=group.gap_pp if group else None,
            )
        )
    return IqaSection(
        assessed=str(assessed),
        managers=rows,
        quota=counts_of(quota, as_of),
        reassessment=counts_of(again, as_of),
        units=[u for u in measures.units if u.name.startswith(f"{area}/")],
        area=area_group,
        national=measures.national,
        disclosure=area_group.disclosure,
    )
