"""Build a monthly or quarterly pack of one Area in one read session."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from services.audit.status_queries import recommendation_statuses
from services.summaries import file_quality as files
from services.summaries import queries as weekly
from services.summaries.iqa_queries import iqa_measures
from services.summaries.packs import file_queries as fq
from services.summaries.packs import model
from services.summaries.packs import queries as q
from services.summaries.packs.iqa_build import IQA_RULES, iqa_section
from services.summaries.packs.periods import PackPeriod
from services.summaries.recommendations import audit_seal, recommendations_section
from services.summaries.trial_queries import standing_trials
from services.summaries.trials import TREND, TrialsSection
from services.summaries.trials import section as trials_section

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class PeriodNotBegun(ValueError):
    """A pack is for a past or the current period: this one starts after the as-of date."""


def check_period_begun(period: PackPeriod, as_of: date) -> None:
    if period.start > as_of:
        raise PeriodNotBegun(
            f"{period.noun} {period} begins on {period.start}, after the as-of date {as_of}"
        )


async def build_pack(
    *,
    session: AsyncSession,
    area: str,
    period: PackPeriod,
    as_of: date,
    national: Mapping[str, float] | None = None,
) -> model.Pack:
    """`national`: the national trials figures by court type (Settings.trials_national)."""
    if period.every == "monthly":
        return await build_monthly(
            session=session, area=area, month=period, as_of=as_of, national=national
        )
    return await build_quarterly(
        session=session, area=area, quarter=period, as_of=as_of, national=national
    )


async def trials(
    *, session: AsyncSession, area: str, period: PackPeriod, national: Mapping[str, float] | None
) -> TrialsSection:
    """Trials not proceeding for prosecution reasons (docs/contract.md section 9)."""
    return trials_section(
        await standing_trials(session=session),
        area=area,
        period=period,
        national=national or {},
        trend=TREND[period.every],
    )


async def build_monthly(
    *,
    session: AsyncSession,
    area: str,
    month: PackPeriod,
    as_of: date,
    national: Mapping[str, float] | None = None,
) -> model.Pack:
    check_period_begun(month, as_of)
    before = month.previous()
    items = await q.pack_items(
        session=session, area=area, rules=model.PACK_RULES, first=before.start, last=month.end
    )
    items = await q.with_letters(session=session, items=items)
    teams = await weekly.legal_managers_of(session=session, area=area)
    checks = await q.checks_recorded(session=session, area=area, month=month.label)
    managers = {model.checked_manager(i) for i in items if i.rule == model.ASSURANCE}
    people = await weekly.staff_of(session=session, ids=managers | set(checks))
    statuses = await recommendation_statuses(session=session, area=area, today=as_of)
    owners = await weekly.staff_of(session=session, ids={o for s in statuses for o in s.owners})
    follow_up = {("recommendation", s.recommendation_id) for s in statuses}
    follow_up |= {("inspection", s.inspection_id) for s in statuses}
    follow_up |= {("action", a.action_id) for s in statuses for a in s.actions}
    actions = await q.follow_up_actions(
        session=session, ids=follow_up, first=month.start, last=month.end
    )
    sections: list[model.Section] = [
        model.victim_letters(items, month=month, as_of=as_of, teams=teams),
        model.reviews(items, month=month, as_of=as_of),
        model.data_quality(items, month=month, as_of=as_of),
        model.assurance(
            items,
            month=month,
            as_of=as_of,
            checks=checks,
            names={m: p.name for m, p in people.items()},
        ),
        model.custody(items, month=month, as_of=as_of),
        await trials(session=session, area=area, period=month, national=national),
        await _iqa(session=session, area=area, period=month, as_of=as_of),
        recommendations_section(statuses, names={k: p.name for k, p in owners.items()}),
        model.Actions(items=actions),
        *await _files_and_disclosure(session=session, area=area, period=month, as_of=as_of),
        await audit_seal(session=session),
    ]
    return model.Pack("monthly", area, month, before, as_of, sections)


async def build_quarterly(
    *,
    session: AsyncSession,
    area: str,
    quarter: PackPeriod,
    as_of: date,
    national: Mapping[str, float] | None = None,
) -> model.Pack:
    check_period_begun(quarter, as_of)
    before = quarter.previous()
    items = await q.pack_items(
        session=session,
        area=area,
        rules=(model.REASON_CODE, model.ASSURANCE),
        first=before.start,
        last=quarter.end,
    )
    recorded = [
        sum((await q.checks_recorded(session=session, area=area, month=m.label)).values())
        for m in quarter.months()
    ]
    sections: list[model.Section] = [
        model.compliance(
            items, measure="data-quality", rule=model.REASON_CODE, quarter=quarter, as_of=as_of
        ),
        model.compliance(
            items,
            measure="assurance",
            rule=model.ASSURANCE,
            quarter=quarter,
            as_of=as_of,
            checks_recorded=recorded,
        ),
        await trials(session=session, area=area, period=quarter, national=national),
        *await _files_and_disclosure(session=session, area=area, period=quarter, as_of=as_of),
        await _iqa(session=session, area=area, period=quarter, as_of=as_of),
        await audit_seal(session=session),
    ]
    return model.Pack("quarterly", area, quarter, before, as_of, sections)


async def _files_and_disclosure(
    *, session: AsyncSession, area: str, period: PackPeriod, as_of: date
) -> list[model.Section]:
    """Police file quality and disclosure recorded on time (contract section 9, "Added: police
    file quality and disclosure"), for the period against the one before."""
    before = period.previous()
    items = await q.pack_items(
        session=session,
        area=area,
        rules=(model.FILE_FEEDBACK, model.DISCLOSURE),
        first=before.start,
        last=period.end,
    )
    assessments = await fq.file_assessments(session=session, area=area, first=period.start)
    forces = await fq.feedback_forces(
        session=session, file_ids={i.key for i in items if i.rule == model.FILE_FEEDBACK}
    )
    teams = await weekly.legal_managers_of(session=session, area=area)
    return [
        files.file_quality(assessments, items, period=period, as_of=as_of, forces=forces),
        files.disclosure_records(items, period=period, as_of=as_of, teams=teams),
    ]


async def _iqa(
    *, session: AsyncSession, area: str, period: PackPeriod, as_of: date
) -> model.Section:
    """The IQA section (docs/contract.md section 9, "Added: IQA in the monthly and quarterly
    packs"): obligations due in the period; measures over the IQAs assessed in the previous
    month for a monthly pack (the month whose quota and sample fall due in this one), in the
    quarter for a quarterly pack."""
    assessed = period.previous() if period.every == "monthly" else period
    items = await q.pack_items(
        session=session, area=area, rules=IQA_RULES, first=period.start, last=period.end
    )
    return iqa_section(
        items,
        period=period,
        assessed=assessed,
        as_of=as_of,
        area=area,
        measures=await iqa_measures(
            session=session, first=assessed.start, last=min(assessed.end, as_of)
        ),
        managers=await weekly.legal_managers_of(session=session, area=area),
    )
