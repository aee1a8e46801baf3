"""Who is asking: the person or system behind a session, an API token or a calendar feed, with
the scope their role gives (docs/contract.md section 12). A leaver's credentials stop working
the day they leave, whatever their expiry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

from services.access.credentials import Kind, find_live
from services.access.people import OrgChart
from services.access.scope import NATIONAL, NOTHING, Person, Scope

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Principal:
    credential_id: int
    kind: str  # the credential's kind
    scope: Scope
    person: Person | None = None  # None: a system's token
    system: str | None = None
    grants: str = "staff"  # staff, read, publish
    csrf: str | None = None  # a session's form token
    # The org chart the scope was worked out from (read only: shared between requests).
    people: Mapping[str, Person] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def staff_id(self) -> str | None:
        return None if self.person is None else self.person.staff_id

    @property
    def name(self) -> str:
        if self.person is not None:
            return self.person.name
        return f"system {self.system}"

    @property
    def actor(self) -> str:
        """How the audit trail names who did it."""
        if self.person is not None:
            return self.person.staff_id
        return f"system:{self.system}"

    def directory(self) -> Mapping[str, Person]:
        return self.people


async def authenticate(
    *,
    session: AsyncSession,
    secret: str,
    kinds: tuple[Kind, ...],
    now: datetime,
    today: date,
    chart: OrgChart | None = None,
) -> Principal | None:
    """None for an unknown, revoked or expired secret, or a leaver's. `chart`: a long-lived
    process's (the HTTP service's) org chart, kept between calls."""
    row = await find_live(session=session, secret=secret, kinds=kinds, now=now)
    if row is None or row.id is None:
        return None
    if row.staff_id is None:  # a system's token: read is national, publish reads nothing
        scope = NATIONAL if row.scope == "read" else NOTHING
        return Principal(row.id, row.kind, scope, system=row.system, grants=row.scope)
    chart = chart or OrgChart()
    people = await chart.people(session=session)
    person = people.get(row.staff_id)
    if person is None or person.has_left(today):
        return None
    return Principal(
        row.id,
        row.kind,
        chart.scope_of(person),
        person=person,
        grants=row.scope,
        csrf=row.csrf,
        people=people,
    )
