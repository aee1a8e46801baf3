"""`followup tokens`: API tokens and calendar feeds for people and systems, shown once and
stored hashed (docs/contract.md section 12, "Tokens")."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from services.entrypoints.cli.failures import NotFound
from services.entrypoints.cli.output import Column, FormatOption, OutputOption, emit
from services.entrypoints.cli.runner import run_with_runtime

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

tokens_app = typer.Typer(help="API tokens and calendar feeds: create, list, revoke.")
err = Console(stderr=True)

GRANTS = ("read", "publish")


@tokens_app.command("create")
def tokens_create(
    staff: Annotated[
        str | None, typer.Option("--staff", help="For this person: their own scope.")
    ] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="For a system, by name (with --scope).")
    ] = None,
    scope: Annotated[
        str | None, typer.Option("--scope", help="A system's grant: read or publish.")
    ] = None,
    calendar: Annotated[
        bool, typer.Option("--calendar", help="A calendar feed (with --staff), not a token.")
    ] = False,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Lifetime (FOLLOWUP_TOKEN_DAYS).")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="What it is for.")] = "",
) -> None:
    """Make a token and print it once; only its hash is kept."""
    if (staff is None) == (system is None):
        raise typer.BadParameter("give exactly one of --staff ID or --system NAME")
    if system is not None and scope not in GRANTS:
        raise typer.BadParameter(f"--system needs --scope {' or '.join(GRANTS)}, not {scope!r}")
    if staff is not None and scope is not None:
        raise typer.BadParameter("--scope is for systems: a person's token has their role's scope")
    if calendar and staff is None:
        raise typer.BadParameter("--calendar needs --staff: a feed is of someone's due dates")

    async def work(runtime: Runtime) -> dict[str, Any]:
        from services.access.credentials import issue
        from services.access.people import load_person

        now = runtime.now()
        async with runtime.sessions() as session, session.begin():
            if staff is not None:
                person = await load_person(session=session, staff_id=staff)
                if person is None or person.has_left(runtime.today()):
                    raise NotFound("staff member", staff)
            kind: Literal["api-token", "calendar-feed"] = (
                "calendar-feed" if calendar else "api-token"
            )
            secret, row = await issue(
                session=session,
                kind=kind,
                scope=scope or "staff",
                now=now,
                expires_at=now + timedelta(days=days or runtime.settings.token_days),
                staff_id=staff,
                system=system,
                label=label,
            )
            shown = {"id": row.id, "kind": kind, "expires_at": _iso(row.expires_at)}
            if calendar:
                shown["url"] = f"{runtime.settings.base_url()}/calendar/{secret}.ics"
            return {**shown, "token": secret}

    made = run_with_runtime(work)
    err.print("Shown once: keep it now. Revoke with `followup tokens revoke ID`.", style="yellow")
    typer.echo(made.get("url") or made["token"])


@tokens_app.command("list")
def tokens_list(fmt: FormatOption = "table", output: OutputOption = None) -> None:
    """Every token and calendar feed: whose, what it grants, and whether it still works."""

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        from services.access.credentials import list_credentials

        now = runtime.now()
        async with runtime.sessions() as session:
            rows = await list_credentials(session=session, kinds=("api-token", "calendar-feed"))
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "for": r.staff_id or f"system:{r.system}",
                "scope": r.scope,
                "label": r.label,
                "created_at": _iso(r.created_at),
                "expires_at": _iso(r.expires_at),
                "state": "revoked"
                if r.revoked_at
                else ("expired" if r.expires_at and r.expires_at <= now else "active"),
            }
            for r in rows
        ]

    emit(run_with_runtime(work, read_only=True), TOKEN_COLUMNS, fmt=fmt, output=output)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="Id from `tokens list`.")]) -> None:
    """Stop a token or calendar feed working, at once."""

    async def work(runtime: Runtime) -> str:
        from services.access.credentials import revoke

        async with runtime.sessions() as session, session.begin():
            row = await revoke(session=session, credential_id=token_id, now=runtime.now())
            if row is None or row.kind not in ("api-token", "calendar-feed"):
                raise NotFound("token", token_id)
            return row.kind

    kind = run_with_runtime(work)
    typer.echo(f"revoked {kind} {token_id}")


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.isoformat()


def _field(name: str) -> Column:
    return (name, lambda row: str(row[name] or ""))


TOKEN_COLUMNS: list[Column] = [
    _field(name) for name in ("id", "kind", "for", "scope", "label", "expires_at", "state")
]
