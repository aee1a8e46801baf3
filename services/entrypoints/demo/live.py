"""The demo's live display: a bar over the weeks, the day the clock stands at, and a line for
each week done (events, alerts sent, weekly summaries delivered)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.entrypoints.cli.runner import run_with_redis_url
from services.entrypoints.demo.run import DemoResult, WeekDone, run_demo

if TYPE_CHECKING:
    from services.platform.settings import Settings
    from services.simulation import Plan


def run_live(console: Console, settings: Settings, *, plan: Plan, as_of: date) -> DemoResult:
    with Progress(
        TextColumn("[bold]simulating[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("weeks  {task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("starting the consumer", total=plan.weeks)

        def week_done(week: WeekDone) -> None:
            progress.console.print(
                f"week {week.number} (from {week.monday:%a %-d %b %Y}): {week.events:,} events, "
                f"{week.emails:,} alert emails, {week.summaries} weekly summaries sent",
                highlight=False,
            )
            progress.advance(task)

        return run_with_redis_url(
            settings,
            lambda runtime, url: run_demo(
                runtime=runtime,
                redis_url=url,
                as_of=as_of,
                plan=plan,
                on_progress=lambda text: progress.update(task, description=text),
                on_week=week_done,
            ),
        )
