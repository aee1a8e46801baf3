"""`followup summary`: one scope's weekly summary as Markdown, HTML or JSON."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

# Only typer at import: `followup --help` and `followup summary --help` must start fast, and
# `followup summary` loads the database and renderers it needs when it runs.
if TYPE_CHECKING:
    from services.platform.settings import Settings
    from services.summaries.weeks import IsoWeek


def summary(
    area: Annotated[str, typer.Option(help="The Area, e.g. thames-and-chiltern.")],
    week: Annotated[str, typer.Option(help="ISO week YYYY-Www, e.g. 2017-W30.")],
    unit: Annotated[str | None, typer.Option(help="Only this unit (the case's unit).")] = None,
    manager: Annotated[
        str | None, typer.Option(help="Only this legal manager's team (staff id).")
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    as_of: Annotated[
        str | None,
        typer.Option(help="Judge lapses as of this date (YYYY-MM-DD); default today in London."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of standard output.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also write the on-time chart (PNG) to this file.")
    ] = None,
) -> None:
    """The weekly conference-call summary for an Area, a unit or a legal manager's team."""
    import asyncio

    from services.entrypoints.cli.as_of import as_of_day
    from services.platform import logs
    from services.platform.settings import Settings
    from services.summaries.weeks import IsoWeek

    if format_ not in ("md", "html", "json"):
        raise typer.BadParameter(f"--format must be md, html or json, not {format_!r}")
    try:
        iso_week = IsoWeek.parse(week)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--week") from error
    day = as_of_day(as_of)
    settings = Settings()
    logs.configure(settings.log_level)
    text, png = asyncio.run(
        _render(settings, area, unit, manager, iso_week, day, format_, chart is not None)
    )
    if chart is not None and png is not None:
        chart.write_bytes(png)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


async def _render(
    settings: Settings,
    area: str,
    unit: str | None,
    manager: str | None,
    week: IsoWeek,
    as_of: date,
    format_: str,
    want_chart: bool,
) -> tuple[str, bytes | None]:
    from services.platform.runtime import open_runtime
    from services.summaries.build import WeekNotBegun, build_summary
    from services.summaries.model import Scope, Timeliness

    scope = Scope(area=area, unit=unit, manager=manager)
    async with open_runtime(settings) as runtime, runtime.sessions() as session:
        try:
            found = await build_summary(session=session, scope=scope, week=week, as_of=as_of)
        except WeekNotBegun as error:
            raise typer.BadParameter(str(error), param_hint="--week") from error
    png = None
    timeliness = found.section("timeliness")
    if (want_chart or format_ == "html") and isinstance(timeliness, Timeliness):
        from services.summaries.chart import on_time_chart

        png = on_time_chart(timeliness)
    if format_ == "json":
        from services.summaries.render_json import summary_json

        return json.dumps(summary_json(found), indent=2) + "\n", png
    if format_ == "html":
        from services.summaries.render_html import summary_html

        return summary_html(found, chart=png), png
    from services.summaries.render_md import summary_markdown

    return summary_markdown(found), png


def write_demo_summary(settings: Settings, *, as_of: date, path: Path) -> None:
    """`followup demo --summary FILE`: the demo week's Area summary as HTML."""
    import asyncio

    from services.entrypoints.demo.week import AREA, WEEK
    from services.summaries.weeks import IsoWeek

    text, _ = asyncio.run(
        _render(settings, AREA, None, None, IsoWeek.of(WEEK[0]), as_of, "html", False)
    )
    path.write_text(text, encoding="utf-8")
