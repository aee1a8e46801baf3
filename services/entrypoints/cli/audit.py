"""`followup audit`: verify the audit chain, report an inspection's follow-up, list statuses."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from services.entrypoints.cli.runner import run_in_session

audit_app = typer.Typer(help="The tamper-evident audit trail and inspection follow-up reports.")
out = Console()
err = Console(stderr=True)


@audit_app.command("verify")
def verify(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Recompute every entry's hash in order; name the first broken entry (exit 1) if any."""
    from services.audit.report import chain_json
    from services.platform.audit_trail import verify_chain

    chain = chain_json(run_in_session(lambda session: verify_chain(session=session)))
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
    from services.audit.render import FORMATS, render
    from services.audit.report import InspectionNotFound, build_report
    from services.entrypoints.cli.as_of import as_of_day

    if fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}", param_hint="--format")
    today = as_of_day(as_of)
    try:
        found = run_in_session(
            lambda session: build_report(session=session, inspection_id=inspection, today=today)
        )
    except InspectionNotFound as error:
        err.print(str(error), highlight=False, markup=False)
        raise typer.Exit(2) from None
    text = render(found, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every recommendation's follow-up status."""
    from rich.table import Table

    from services.audit.status_queries import recommendation_statuses
    from services.entrypoints.cli.as_of import as_of_day

    today = as_of_day(as_of)
    rows = run_in_session(
        lambda session: recommendation_statuses(session=session, area=area, today=today)
    )
    found = [_status_json(asdict(r)) for r in rows]
    if as_json:
        out.print_json(json.dumps(found))
        return
    table = Table("inspection", "no.", "status", "flags", "next due", "owners")
    for r in found:
        table.add_row(
            r["inspection_id"],
            r["number"],
            r["status"],
            ", ".join(r["flags"]),
            r["next_due"] or "",
            ", ".join(r["owners"]),
        )
    out.print(table)


def _status_json(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("actions", None)
    plain: dict[str, Any] = json.loads(json.dumps(row, default=str))
    return plain
