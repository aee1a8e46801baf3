"""Callers for HTTP tests: a bearer token for a staff member or a system, made the way
`followup tokens create` makes one."""

from __future__ import annotations

from datetime import timedelta

from services.access.credentials import issue
from services.platform.runtime import Runtime


async def bearer(
    runtime: Runtime, *, staff_id: str | None = None, system: str | None = None, scope: str = "read"
) -> dict[str, str]:
    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        secret, _ = await issue(
            session=session,
            kind="api-token",
            scope="staff" if staff_id else scope,
            now=now,
            expires_at=now + timedelta(days=1),
            staff_id=staff_id,
            system=None if staff_id else (system or "tests"),
        )
    return {"Authorization": f"Bearer {secret}"}


async def browser(runtime: Runtime, *, staff_id: str) -> tuple[dict[str, str], str]:
    """A signed-in browser's cookies and the CSRF token its forms post, for a staff member:
    a session made as `/sign-in/{link}` makes one."""
    from services.entrypoints.http.security_schemes import SESSION_COOKIE

    now = runtime.now()
    async with runtime.sessions() as session, session.begin():
        secret, row = await issue(
            session=session,
            kind="session",
            scope="staff",
            now=now,
            expires_at=now + timedelta(hours=1),
            staff_id=staff_id,
            csrf=True,
        )
    assert row.csrf is not None
    return {SESSION_COOKIE: secret}, row.csrf


def shown(html: str) -> str:
    """A page without its random parts (CSRF tokens, signed action links, feed secrets): a
    victim id such as "V9" must be looked for in what the page says and links to, not in a
    random token that happens to hold those two characters."""
    import re

    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    return re.sub(r"/(act|calendar|sign-in)/[A-Za-z0-9_.\-]+", "", html)
