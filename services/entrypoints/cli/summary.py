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
from services.entrypoints.cli.runner import run_with_runtime

if TYPE_CHECKING:
    from services.platform.runtime import Runtime
    from services.platform.settings import Settings
    from services.summaries.weeks import IsoWeek


def summary(
    area: Annotated[str, typer.Option(help="The Area, e.g. thames-and-chiltern.")],
    week: Annotated[str | None, typer.Option(help="ISO week YYYY-Www, e.g. 2017-W30.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit (the case's unit).")] = None,
    manager: Annotated[
        str | None, typer.Option(help="Only this legal manager's team (staff id).")
    ] = None,
    format_: Annotated[
        str, typer.Option("--format", help="md, html or json (a month's or quarter's: or csv).")
    ] = "md",
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Judge lapses as of this date (YYYY-MM-DD); default the week's end (its "
            "Sunday) for a past week, the last day for a past month or quarter, today in "
            "London for the current one."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of standard output."),
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also write the on-time chart (PNG) to this file.")
    ] = None,
    month: Annotated[
        str | None,
        typer.Option(help="The monthly performance review pack of this month, YYYY-MM."),
    ] = None,
    quarter: Annotated[
        str | None,
        typer.Option(help="The quarterly Area Performance Review pack, YYYY-Qn (2017-Q3)."),
    ] = None,
) -> None:
    """The weekly conference-call summary for an Area, a unit or a legal manager's team; with
    --month or --quarter, the Area's monthly or quarterly pack (docs/contract.md section 9)."""
    if month is not None or quarter is not None or week is None:
        from services.entrypoints.cli.packs import pack_command

        return pack_command(
            area=area,
            week=week,
            month=month,
            quarter=quarter,
            unit=unit,
            manager=manager,
            format_=format_,
            as_of=as_of,
            output=output,
            chart=chart,
        )
    from services.entrypoints.cli.as_of import as_of_day
    from services.summaries.build import WeekNotBegun, check_week_begun, default_as_of
    from services.summaries.weeks import IsoWeek

    if format_ not in ("md", "html", "json"):
        raise typer.BadParameter(f"--format must be md, html or json, not {format_!r}")
    try:
        iso_week = IsoWeek.parse(week)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--week") from error
    day = as_of_day(as_of)
    if as_of is None:  # docs/contract.md section 9, "The weekly call pack"
        day = default_as_of(iso_week, day)
    as_of_from = "given" if as_of is not None else "today" if day != iso_week.sunday else "week-end"
    try:
        check_week_begun(iso_week, day)
    except WeekNotBegun as error:
        raise typer.BadParameter(str(error), param_hint="--week") from error
    text, png = run_with_runtime(
        lambda runtime: _render(
            runtime, area, unit, manager, iso_week, day, format_, chart is not None, as_of_from
        ),
        read_only=True,
    )
    from services.platform.private_files import write_user_file

    if chart is not None and png is not None:
        write_user_file(chart, png)
    if output is None:
        sys.stdout.write(text)
    else:
        write_user_file(output, text)


async def _render(
    runtime: Runtime,
    area: str,
    unit: str | None,
    manager: str | None,
    week: IsoWeek,
    as_of: date,
    format_: str,
    want_chart: bool,
    as_of_from: str = "given",
) -> tuple[str, bytes | None]:
    from services.entrypoints.cli.failures import NotFound
    from services.summaries.build import WeekNotBegun, build_summary, call_time
    from services.summaries.model import Scope, Timeliness
    from services.summaries.queries import known_areas

    scope = Scope(area=area, unit=unit, manager=manager)
    async with runtime.sessions() as session:
        areas = await known_areas(session=session)
        if areas and area not in areas:  # with nothing recorded yet, every Area is empty
            raise NotFound("Area", area, areas)
        try:
            found = await build_summary(
                session=session,
                scope=scope,
                week=week,
                as_of=as_of,
                call=call_time(runtime.settings),
                as_of_from=as_of_from,
            )
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
    """`followup demo --summary FILE`: the demo's last week's Area summary as HTML."""
    from services.entrypoints.demo.plan import AREA, LAST_DAY
    from services.summaries.weeks import IsoWeek

    text, _ = run_with_runtime(
        lambda runtime: _render(
            runtime, AREA, None, None, IsoWeek.of(LAST_DAY), as_of, "html", False
        ),
        settings=settings,
    )
    from services.platform.private_files import write_user_file

    write_user_file(path, text)
