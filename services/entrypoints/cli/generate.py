"""`followup generate`: a realistic, deterministic history of contract events as JSON Lines
(docs/contract.md section 6, "Added: followup generate"), each line checked by the parser
`followup publish` uses before it is written."""

from __future__ import annotations

import os
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from services.entrypoints.cli.failures import ExitCode, Failure

if TYPE_CHECKING:
    from services.simulation import Plan

err = Console(stderr=True)


class GeneratedInvalid(Failure):
    """A generated line the contract refuses: a bug in the generator, never the user's."""

    code = ExitCode.INTERNAL


def generate(
    area: Annotated[
        str | None,
        typer.Option(help="One Area, by id or name (thames-and-chiltern, 'Thames and Chiltern')."),
    ] = None,
    national: Annotated[
        bool, typer.Option("--national", help="All 14 Areas and CPS Direct, ~500,000 cases a year.")
    ] = False,
    weeks: Annotated[int, typer.Option(help="Weeks to simulate, from --start.")] = 8,
    seed: Annotated[int, typer.Option(help="The same seed gives the same bytes.")] = 1,
    start: Annotated[
        str | None,
        typer.Option(help="The first Monday simulated (YYYY-MM-DD); default 2025-01-06."),
    ] = None,
    scale: Annotated[
        float, typer.Option(help="Times the national rate of cases (and of staff to carry them).")
    ] = 1.0,
    duplicates: Annotated[
        float, typer.Option(help="Share of events sent again later (same source and id).")
    ] = 0.0,
    history: Annotated[
        int,
        typer.Option(
            help="Weeks of cases registered before --start, so the Area starts with cases "
            "under way (their earlier events come first)."
        ),
    ] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
    ] = None,
) -> None:
    """Write a realistic history of contract events (JSON Lines, what `followup publish`
    takes): staff, cases, hearings, letters, custody time limits, reviews, IQAs and more, with
    late and missed work at published rates. Counts by type go to standard error."""
    plan = _plan(area, national, weeks, seed, start, scale, duplicates, history)
    counts: Counter[str] = Counter()
    if out is None:
        _write(plan, sys.stdout, counts)
    else:
        _write_file(plan, out, counts)
    total = sum(counts.values())
    for type_, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        err.print(f"{count:>10,}  {type_}", highlight=False)
    where = "" if out is None else f" to {out}"
    err.print(
        f"{total:,} events{where}: {len(plan.areas)} Area(s), {plan.weeks} weeks from "
        f"{plan.start}, seed {plan.seed}",
        highlight=False,
        soft_wrap=True,
    )


def _plan(
    area: str | None,
    national: bool,
    weeks: int,
    seed: int,
    start: str | None,
    scale: float,
    duplicates: float,
    history: int,
) -> Plan:
    from services.entrypoints.cli.failures import NotFound
    from services.simulation import AREAS, DEFAULT_START, Plan, find_area

    if national == (area is not None):
        raise typer.BadParameter("give either --area AREA or --national (not both, not neither)")
    chosen = AREAS
    if area is not None:
        found = find_area(area)
        if found is None:
            raise NotFound("Area", area, [a.slug for a in AREAS])
        chosen = (found,)
    try:
        first = DEFAULT_START if start is None else date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"--start must be a date YYYY-MM-DD, not {start!r}") from None
    plan = Plan(chosen, weeks, seed, first, scale, duplicates, history)
    if problems := plan.problems():
        raise typer.BadParameter("; ".join(problems))
    return plan


def _write_file(plan: Plan, out: Path, counts: Counter[str]) -> None:
    """Written beside the file and moved into place at the end: a failed run leaves no half
    history under the name asked for."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        handle = partial.open("w", encoding="utf-8")
    except OSError as error:
        raise typer.BadParameter(f"--out: cannot write {out}: {error.strerror}") from None
    try:
        with handle:
            _write(plan, handle, counts)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def _write(plan: Plan, handle: TextIO, counts: Counter[str]) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from events import EventRejected, parse_event
    from services.simulation import to_line, weeks_of

    number = 0
    with Progress(
        TextColumn("generating week"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[events]:,} events"),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("generate", total=plan.weeks, events=0)
        for events in weeks_of(plan):
            lines = []
            for event in events:
                number += 1
                line = to_line(event)
                try:
                    parse_event(line)
                except EventRejected as rejected:
                    raise GeneratedInvalid(
                        f"generated line {number} is not a valid event ({rejected.field}: "
                        f"{rejected.reason}): a bug in the generator; the output is not complete"
                    ) from None
                counts[event["type"]] += 1
                lines.append(line)
            handle.write("".join(f"{line}\n" for line in lines))
            progress.update(task, advance=1, events=number)
