"""`followup backfill FILE` and `followup replay --from DATE` (docs/contract.md section 6,
"Added: backfill" and "Added: replay")."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from services.platform.runtime import Runtime
    from services.tracker.backfill import BackfillReport
    from services.tracker.replay import ReplayReport

err = Console(stderr=True)
out = Console()
INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


def backfill(
    file: Annotated[Path, typer.Argument(help="A JSON Lines file of CloudEvents (the history).")],
    batch: Annotated[int, typer.Option(min=1, max=50_000, help="Lines per transaction.")] = 5000,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Read the file from the top even if it was loaded: every event is found "
            "loaded already; rejected lines are kept again.",
        ),
    ] = False,
    helper: Annotated[
        bool, typer.Option(help="Read and validate lines in a helper process (another core).")
    ] = True,
) -> None:
    """Load a history of events straight into the database, through the consumer's own
    transaction code: resumable (run it again after a stop), idempotent, and the lapse clock
    goes live with what fell due before as history. Exits 1 if any line was rejected (each
    kept as a dead letter)."""
    from services.entrypoints.cli.runner import run_with_runtime
    from services.platform.settings import Settings
    from services.tracker.backfill import backfill_file

    if not file.is_file():
        raise typer.BadParameter(f"cannot read {file}: not a file")
    settings = Settings()
    held = _hold_sqlite(settings)
    started = time.monotonic()
    with _bar("backfilling", total=file.stat().st_size) as (progress, task):
        handled = [0]

        def advance(read: int, events: int) -> None:
            handled[0] += events
            rate = handled[0] / max(time.monotonic() - started, 1e-6)
            progress.update(task, advance=read, events=handled[0], rate=rate)

        async def work(runtime: Runtime) -> BackfillReport:
            return await backfill_file(
                runtime=runtime,
                path=file,
                batch=batch,
                helper=helper,
                again=again,
                on_progress=advance,
            )

        try:
            report = run_with_runtime(work, settings=settings, sole_writer=held is not None)
        except KeyboardInterrupt:
            _resume_hint("interrupted", file)
            raise typer.Exit(INTERRUPTED) from None
        except Exception:  # told in one line by main(), with its exit code; then this
            _resume_hint("stopped", file)
            raise
        finally:
            if held is not None:
                held.close()
    _print_backfill(report, seconds=time.monotonic() - started)
    if report.rejected:
        raise typer.Exit(1)


def _resume_hint(what: str, file: Path) -> None:
    err.print(
        f"{what}: every batch committed stays loaded; run `followup backfill {file}` again to "
        "go on from the first line not loaded",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _print_backfill(report: BackfillReport, *, seconds: float) -> None:
    if report.already_done:
        out.print(
            f"{report.path}: already loaded ({report.lines:,} lines); nothing to do "
            "(--again reads it again)",
            highlight=False,
            soft_wrap=True,
        )
        return
    for refused in report.sample:
        where = f"{refused.field}: " if refused.field else ""
        err.print(
            f"line {refused.line}: rejected: {where}{refused.reason}", highlight=False, markup=False
        )
    if (more := report.rejected - len(report.sample)) > 0:
        err.print(f"and {more} more rejected lines: see `followup dead-letters list`")
    handled = report.loaded + report.duplicates
    resumed = f" (resumed at line {report.resumed_from:,})" if report.resumed_from > 1 else ""
    out.print(
        f"{report.path}: {report.lines:,} lines{resumed}; loaded {report.loaded:,} events, "
        f"{report.duplicates:,} already loaded, rejected {report.rejected:,} lines (kept as "
        f"dead letters); {handled / max(seconds, 1e-6):,.0f} events/s",
        highlight=False,
        soft_wrap=True,
    )
    if report.live_clock_started:
        out.print(
            "the lapse clock's go-live is recorded: what fell due before it is history",
            highlight=False,
        )


def replay(
    from_date: Annotated[
        str, typer.Option("--from", help="Rebuild what events of this date on touch (YYYY-MM-DD).")
    ],
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Compare a rebuild with the database and report; change nothing."
        ),
    ] = False,
) -> None:
    """Rebuild tracks and obligations from the recorded events (after a rule-pack change), or
    with --check report where the database differs from a rebuild (exit 1 if it does)."""
    from services.entrypoints.cli.runner import run_with_runtime
    from services.platform.settings import Settings
    from services.tracker.replay import replay_events

    try:
        since = date.fromisoformat(from_date)
    except ValueError:
        raise typer.BadParameter(
            f"--from must be a date written YYYY-MM-DD, not {from_date!r}"
        ) from None
    settings = Settings()
    held = None if check else _hold_sqlite(settings)
    with _bar("reading events" if check else "replaying", total=None) as (progress, task):
        read, started = [0], time.monotonic()

        def advance(events: int, total: int) -> None:
            read[0] += events
            rate = read[0] / max(time.monotonic() - started, 1e-6)
            progress.update(task, total=total, advance=events, events=read[0], rate=rate)

        async def work(runtime: Runtime) -> ReplayReport:
            return await replay_events(
                runtime=runtime, since=since, check=check, on_progress=advance
            )

        try:
            report = run_with_runtime(
                work, settings=settings, read_only=check, sole_writer=held is not None
            )
        finally:
            if held is not None:
                held.close()
    _print_replay(report, check=check)
    if check and report.differences:
        raise typer.Exit(1)


def _print_replay(report: ReplayReport, *, check: bool) -> None:
    for line in report.described[:200]:
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if (more := len(report.described) - 200) > 0:
        out.print(f"and {more} more differences", highlight=False)
    verb = "differ" if check else "changed"
    out.print(
        f"{report.events:,} events read, {report.in_scope:,} tracks from {report.since} on; "
        f"{report.differences:,} obligations {verb}, {report.tracks_differing:,} tracks {verb}",
        highlight=False,
        soft_wrap=True,
    )


class _bar:
    """A progress bar on a terminal (events/s where given), nothing elsewhere."""

    def __init__(self, what: str, *, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress: Progress = Progress(
            TextColumn(what),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[events]:,} events, {task.fields[rate]:,.0f}/s"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        self.total = total

    def __enter__(self) -> tuple[Progress, Any]:
        self.progress.__enter__()
        task = self.progress.add_task("work", total=self.total, events=0, rate=0.0)
        return self.progress, task

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


def _hold_sqlite(settings: Any) -> Any:
    """On SQLite, the lock `serve` holds: refused while a `serve` writes to the database, and
    none starts until this command ends (a second writer would race it)."""
    from schemas.db import is_sqlite
    from services.entrypoints.cli.main import _one_writer

    if not is_sqlite(settings.sqlalchemy_url()):
        return None
    return _one_writer(settings)
