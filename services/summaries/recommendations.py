"""The recommendations section: inspection follow-up statuses, read from the audit capability
(`recommendation_statuses`), counted by status and narrowed to those needing attention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from services.audit.checkpoints import latest_checkpoint
from services.audit.recommendation_status import (
    AT_RISK,
    AWAITING_VERIFICATION,
    NOT_STARTED,
    ON_TRACK,
    OVERDUE,
    VERIFIED,
)
from services.audit.status_queries import RecommendationStatus, recommendation_statuses
from services.summaries import queries
from services.summaries.model import (
    AuditSeal,
    Owner,
    RecommendationItem,
    Recommendations,
    Scope,
    StatusCount,
)
from services.summaries.weeks import IsoWeek

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# Most pressing first: the order of the counts table and of the attention list.
STATUS_ORDER = (OVERDUE, AT_RISK, AWAITING_VERIFICATION, ON_TRACK, NOT_STARTED, VERIFIED)
ATTENTION = (OVERDUE, AT_RISK, AWAITING_VERIFICATION)
NO_EVIDENCE = "completed-without-evidence"
SHORT_TEXT = 90


def needs_attention(status: RecommendationStatus) -> bool:
    """At risk, overdue, awaiting verification, or an action completed with no evidence. A
    verified recommendation is settled: the inspectors' rating stands whatever its flags."""
    if status.status in ATTENTION:
        return True
    return status.status != VERIFIED and NO_EVIDENCE in status.flags


def shorten(text: str, limit: int = SHORT_TEXT) -> str:
    """One line of at most `limit` characters, cut at a word with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "\u2026"


def recommendations_section(
    statuses: Iterable[RecommendationStatus], *, names: Mapping[str, str | None]
) -> Recommendations:
    """Pure: the section from statuses (in inspection and number order) and owners' names."""
    found = list(statuses)
    rank = {status: n for n, status in enumerate(STATUS_ORDER)}
    attention = sorted((s for s in found if needs_attention(s)), key=lambda s: rank[s.status])
    return Recommendations(
        counts=[
            StatusCount(status, sum(1 for s in found if s.status == status))
            for status in STATUS_ORDER
        ],
        total=len(found),
        attention=[
            RecommendationItem(
                recommendation_id=s.recommendation_id,
                inspection_id=s.inspection_id,
                number=s.number,
                text=shorten(s.text),
                owners=[Owner(o, names.get(o)) for o in s.owners],
                status=s.status,
                flags=list(s.flags),
                next_due=s.next_due,
                final_due=s.final_due,
            )
            for s in attention
        ],
    )


async def build_recommendations(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> Recommendations:
    """The Area's recommendations; a team's page keeps those with an action owner in the team
    (the manager and their line reports), as the team's obligations are its owners'."""
    statuses = await recommendation_statuses(session=session, area=scope.area, today=as_of)
    if scope.manager is not None:
        members = await queries.team_members(session=session, manager=scope.manager)
        statuses = [s for s in statuses if members.intersection(s.owners)]
    staff = await queries.staff_of(session=session, ids={o for s in statuses for o in s.owners})
    return recommendations_section(
        statuses, names={staff_id: person.name for staff_id, person in staff.items()}
    )


async def build_audit_seal(
    *, session: AsyncSession, scope: Scope, week: IsoWeek, as_of: date
) -> AuditSeal:
    """The latest signed checkpoint of the audit trail, whatever the scope."""
    return await audit_seal(session=session)


async def audit_seal(*, session: AsyncSession) -> AuditSeal:
    """The latest signed checkpoint of the audit trail, for the end of every pack (weekly,
    monthly and quarterly): a printed pack names the head it was made under."""
    latest = await latest_checkpoint(session=session)
    if latest is None:
        return AuditSeal()
    signed = latest.to_json()
    return AuditSeal(
        checkpoint_id=latest.id,
        entries=latest.entries,
        head=latest.head,
        made_at=signed["made_at"],
        public_key=latest.public_key,
        signature=latest.signature,
    )
