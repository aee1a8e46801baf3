"""`followup audit`: verify the audit chain, report an inspection's follow-up, list statuses."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from services.entrypoints.cli.output import (
    Column,
    FormatOption,
    JsonOption,
    OutputOption,
    chosen,
    emit,
)
from services.entrypoints.cli.runner import run_in_session

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

audit_app = typer.Typer(help="The tamper-evident audit trail and inspection follow-up reports.")
out = Console()
err = Console(stderr=True)


@audit_app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Recompute every entry's hash in order; name the first broken entry (exit 1) if any."""
    from services.audit.report import chain_json
    from services.platform.audit_trail import verify_chain

    chain = chain_json(
        run_in_session(lambda session: verify_chain(session=session), read_only=True)
    )
    if as_json:
        out.print_json(json.dumps(chain))
    elif chain["ok"]:
        out.print(f"audit chain ok: {chain['entries']} entries checked", highlight=False)
        out.print(f"head hash: {chain['head']}", highlight=False)
    else:
        err.print(
            f"audit chain BROKEN at entry {chain['first_broken']}: {chain['reason']}",
            highlight=False,
            markup=False,
        )
        err.print(
            f"{chain['entries']} entries verified before it; head hash of the verified part: "
            f"{chain['head']}",
            highlight=False,
        )
    if not chain["ok"]:
        raise typer.Exit(1)


@audit_app.command("report")
def report(
    inspection: Annotated[str, typer.Option("--inspection", help="Inspection id.")],
    fmt: Annotated[str, typer.Option("--format", help="md, html, csv or json.")] = "md",
    as_of: Annotated[
        str | None, typer.Option(help="Status as of this date (YYYY-MM-DD); default today.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """Per recommendation: text, response, owner, actions, evidence, timeline, lapses, rating,
    status; with the audit chain's verification. Exit 1 if the chain is broken."""
    from services.audit.reads import record_read
    from services.audit.records import inspection_ids
    from services.audit.render import FORMATS, render
    from services.audit.report import InspectionNotFound, build_report
    from services.entrypoints.cli.as_of import as_of_day
    from services.entrypoints.cli.failures import NotFound
    from services.entrypoints.cli.operator import os_user
    from services.platform.clock import now

    if fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    today = as_of_day(as_of)

    async def report(session: AsyncSession) -> dict[str, Any]:
        try:
            found = await build_report(session=session, inspection_id=inspection, today=today)
        except InspectionNotFound:
            known = await inspection_ids(session=session)
            raise NotFound("inspection", inspection, known) from None
        # Reading audit data is on the trail too, by the account that ran the command.
        await record_read(
            session=session,
            inspection_id=inspection,
            actor=os_user(),
            via="cli audit report",
            at=now(),
            fmt=fmt,
        )
        await session.commit()
        return found

    found = run_in_session(report, read_only=True)
    text = render(found, fmt)
    if output:
        from services.platform.private_files import write_user_file

        write_user_file(output, text)
        err.print(f"wrote {output}", highlight=False)
    else:
        typer.echo(text, nl=False)
    if not found["chain"]["ok"]:
        err.print(
            f"audit chain BROKEN at entry {found['chain']['first_broken']}: "
            f"{found['chain']['reason']}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1)


@audit_app.command("statuses")
def statuses(
    area: Annotated[str | None, typer.Option(help="Only this Area.")] = None,
    as_of: Annotated[str | None, typer.Option(help="As of this date; default today.")] = None,
    fmt: FormatOption = "table",
    as_json: JsonOption = False,
    output: OutputOption = None,
) -> None:
    """Every recommendation's follow-up status."""
    from services.audit.status_queries import recommendation_statuses
    from services.entrypoints.cli.as_of import as_of_day

    fmt = chosen(fmt, as_json)
    today = as_of_day(as_of)
    rows = run_in_session(
        lambda session: recommendation_statuses(session=session, area=area, today=today),
        read_only=True,
    )
    found = [_status_json(asdict(r)) for r in rows]
    emit(found, STATUS_COLUMNS, fmt=fmt, output=output)


STATUS_COLUMNS: list[Column] = [
    ("inspection", lambda r: r["inspection_id"]),
    ("no.", lambda r: str(r["number"])),
    ("status", lambda r: r["status"]),
    ("flags", lambda r: ", ".join(r["flags"])),
    ("next due", lambda r: r["next_due"] or ""),
    ("owners", lambda r: ", ".join(r["owners"])),
]


def _status_json(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("actions", None)
    plain: dict[str, Any] = json.loads(json.dumps(row, default=str))
    return plain
