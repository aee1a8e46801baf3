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
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.platform.runtime import Runtime

audit_app = typer.Typer(help="The tamper-evident audit trail and inspection follow-up reports.")
out = Console()
err = Console(stderr=True)


@audit_app.command("verify")
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint id, or a file holding one (JSON, as `audit checkpoint --json` "
            "prints it or the audit-checkpointed event); default: the latest stored.",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            help="The audit public key (64 hex digits); default: from FOLLOWUP_AUDIT_KEY_FILE.",
        ),
    ] = None,
) -> None:
    """Recompute every entry's hash in order, check every follow-up row against its audit
    entry, and check the chain against a signed checkpoint; exit 1 naming what fails."""
    from services.audit.verification import verify_all
    from services.platform.settings import Settings

    settings = Settings()
    checkpoint_id, checkpoint_text = None, None
    if checkpoint is not None and checkpoint.isdigit():
        checkpoint_id = int(checkpoint)
    elif checkpoint is not None:
        try:
            checkpoint_text = Path(checkpoint).read_text(encoding="utf-8")
        except OSError as error:
            raise typer.BadParameter(
                f"neither a checkpoint id nor a readable file: {error}", param_hint="--checkpoint"
            ) from None
    found = run_in_session(
        lambda session: verify_all(
            session=session,
            settings=settings,
            checkpoint_id=checkpoint_id,
            checkpoint_text=checkpoint_text,
            public_key=public_key,
        ),
        read_only=True,
    )
    if as_json:
        out.print_json(json.dumps(found))
    else:
        _print_verification(found)
    if not found["ok"]:
        raise typer.Exit(1)


def _print_verification(found: dict[str, Any]) -> None:
    chain = found["chain"]
    if chain["ok"]:
        out.print(f"audit chain ok: {chain['entries']} entries checked", highlight=False)
        out.print(f"head hash: {chain['head']}", highlight=False)
    else:
        err.print(
            f"audit chain BROKEN at entry {chain['first_broken']}: {chain['reason']}",
            highlight=False,
            markup=False,
        )
        if chain.get("about"):
            err.print(f"the entry was about {chain['about']}", highlight=False, markup=False)
        err.print(
            f"{chain['entries']} entries verified before it; head hash of the verified part: "
            f"{chain['head']}",
            highlight=False,
        )
    rows = found["rows"]
    if rows["ok"]:
        out.print(
            "follow-up rows ok: every stored row matches its audit entry",
            highlight=False,
        )
    else:
        err.print(
            f"{len(rows['problems'])} follow-up row(s) do NOT match the audit trail:",
            highlight=False,
        )
        for problem in rows["problems"]:
            err.print(f"  {problem['sentence']}", highlight=False, markup=False, soft_wrap=True)
    signed = found["checkpoint"]
    if signed is None:
        out.print("no signed checkpoint yet: run `followup audit checkpoint`", highlight=False)
    elif signed["ok"]:
        out.print(
            f"checkpoint {signed['checkpoint_id'] or '(file)'} ok: signed "
            f"{signed['made_at']}, {signed['entries']} entries, head {signed['head']}",
            highlight=False,
        )
    else:
        err.print(
            f"checkpoint {signed['checkpoint_id'] or '(file)'} FAILS:",
            highlight=False,
        )
        for problem in signed["problems"]:
            err.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)


@audit_app.command("checkpoint")
def checkpoint(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checkpoint as JSON.")] = False,
) -> None:
    """Verify the chain and sign its head (Ed25519, key in FOLLOWUP_AUDIT_KEY_FILE), store the
    checkpoint and publish `audit-checkpointed` on the tracking stream. Exit 1 if broken."""
    from services.audit.checkpoints import ChainNotSigned, make_checkpoint
    from services.entrypoints.cli.failures import Failure
    from services.entrypoints.cli.operator import os_user
    from services.entrypoints.cli.runner import run_with_redis
    from services.platform.audit_key import signing_key
    from services.platform.outbox import flush_outbox
    from services.platform.settings import Settings

    settings = Settings()

    async def work(runtime: Runtime, redis: Redis) -> dict[str, Any]:
        now = runtime.now()
        key = signing_key(runtime.settings)
        try:
            async with runtime.sessions() as session, session.begin():
                made = await make_checkpoint(session=session, key=key, actor=os_user(), now=now)
        except ChainNotSigned as broken:
            raise Failure(str(broken)) from None
        assert made is not None
        await flush_outbox(sessions=runtime.sessions, redis=redis, settings=settings, now=now)
        return made.to_json()

    made = run_with_redis(settings, work)
    if as_json:
        out.print_json(json.dumps(made))
    else:
        out.print(
            f"checkpoint {made['checkpoint_id']}: {made['entries']} entries, head "
            f"{made['head']}, signed {made['made_at']}",
            highlight=False,
        )
        out.print(f"public key: {made['public_key']}", highlight=False)


@audit_app.command("harden")
def harden(
    print_sql: Annotated[
        bool, typer.Option("--print-sql", help="Print the PostgreSQL role set-up SQL.")
    ] = False,
    role: Annotated[str, typer.Option(help="The role the service runs as.")] = "followup_app",
    owner: Annotated[
        str | None,
        typer.Option(help="The role owning the tables (runs migrations); default: current_user."),
    ] = None,
) -> None:
    """The PostgreSQL set-up under which the service's role cannot rewrite the audit trail
    (docs/contract.md section 8, "Added: a role that cannot rewrite the trail")."""
    from services.audit.harden import hardening_sql

    if not print_sql:
        raise typer.BadParameter("only --print-sql is offered: run its SQL as the tables' owner")
    try:
        sql = hardening_sql(role=role, owner=owner)
    except ValueError as refused:
        raise typer.BadParameter(str(refused), param_hint="--role/--owner") from None
    typer.echo(sql, nl=False)


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
    for problem in found["integrity"]["problems"]:
        err.print(
            f"does not match the audit trail: {problem['sentence']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if not found["chain"]["ok"]:
        err.print(
            f"audit chain BROKEN at entry {found['chain']['first_broken']}: "
            f"{found['chain']['reason']}",
            highlight=False,
            markup=False,
        )
    if not found["chain"]["ok"] or not found["integrity"]["ok"]:
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
