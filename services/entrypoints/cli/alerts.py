"""`followup alerts`: list (default), ack, snooze."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from services.entrypoints.cli.operator import os_user
from services.entrypoints.cli.output import (
    Column,
    FormatOption,
    JsonOption,
    OutputOption,
    chosen,
    emit,
)
from services.entrypoints.cli.runner import run_with_runtime

if TYPE_CHECKING:
    from services.platform.runtime import Runtime

alerts_app = typer.Typer(
    help="Alerts about obligations near or past their due dates: list, acknowledge, snooze.",
    invoke_without_command=True,
)
out = Console()
err = Console(stderr=True)


@alerts_app.callback()
def alerts_default(
    ctx: typer.Context,
    fmt: FormatOption = "table",
    as_json: JsonOption = False,
    output: OutputOption = None,
    state: Annotated[str | None, typer.Option(help="Only alerts in this state.")] = None,
    recipient: Annotated[str | None, typer.Option(help="Only this staff member's.")] = None,
) -> None:
    """Without a command: list alerts (recipient, level, obligation, sent time, state)."""
    if ctx.invoked_subcommand is None:
        alerts_list(fmt=fmt, as_json=as_json, output=output, state=state, recipient=recipient)


@alerts_app.command("list")
def alerts_list(
    fmt: FormatOption = "table",
    as_json: JsonOption = False,
    output: OutputOption = None,
    state: Annotated[str | None, typer.Option(help="Only alerts in this state.")] = None,
    recipient: Annotated[str | None, typer.Option(help="Only this staff member's.")] = None,
) -> None:
    """Alerts, newest first."""
    from services.alerts.queries import STATES, list_alerts

    fmt = chosen(fmt, as_json)
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"--state must be one of {', '.join(STATES)}, not {state!r}")

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await list_alerts(session=session, now=_now(), state=state, recipient=recipient)

    rows = run_with_runtime(work, read_only=True)
    emit(rows, ALERT_COLUMNS, fmt=fmt, output=output)


ALERT_COLUMNS: list[Column] = [
    ("id", lambda row: str(row["id"])),
    ("recipient", lambda row: row["recipient"]),
    ("level", lambda row: row["level"]),
    ("obligation", lambda row: row["obligation"]),
    ("due", lambda row: row["due"]),
    ("sent", lambda row: (row["sent_at"] or "")[:16]),
    ("state", lambda row: row["state"]),
]


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(help="Alert id (from `followup alerts`).")],
    by: Annotated[str, typer.Option("--by", help="Staff id of who acknowledges.")],
) -> None:
    """Acknowledge an alert: escalation of its obligation stops."""
    from services.alerts.actions import acknowledge

    _act(
        lambda session: acknowledge(
            session=session, alert_id=alert_id, by=by, now=_now(), ran_by=os_user()
        )
    )


@alerts_app.command("snooze")
def alerts_snooze(
    alert_id: Annotated[int, typer.Argument(help="Alert id (from `followup alerts`).")],
    by: Annotated[str, typer.Option("--by", help="Staff id of who snoozes.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    until: Annotated[
        str, typer.Option("--until", help="YYYY-MM-DD (London midnight) or an ISO time.")
    ],
) -> None:
    """Hold escalation of an alert's obligation until a time, with a reason."""
    from services.alerts.actions import snooze

    ends = parse_until(until)
    _act(
        lambda session: snooze(
            session=session,
            alert_id=alert_id,
            by=by,
            reason=reason,
            until=ends,
            now=_now(),
            ran_by=os_user(),
        )
    )


def parse_until(text: str) -> datetime:
    from services.rules.calendar import LONDON

    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=LONDON)
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(
            f"--until must be YYYY-MM-DD or an ISO time, not {text!r}"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


def _act(action: Callable[[Any], Awaitable[dict[str, Any]]]) -> None:
    from services.alerts.actions import AlertActionRefused

    async def work(runtime: Runtime) -> dict[str, Any]:
        async with runtime.sessions() as session, session.begin():
            return await action(session)

    try:
        done = run_with_runtime(work)
    except AlertActionRefused as error:
        err.print(str(error), highlight=False, markup=False)
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(done, indent=2) + "\n")


def _now() -> datetime:
    from services.platform.clock import now

    return now()
