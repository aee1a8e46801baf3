"""`followup summary --month YYYY-MM | --quarter YYYY-Qn`: an Area's monthly performance
review pack or quarterly Area Performance Review pack (docs/contract.md section 9, "Added:
monthly and quarterly packs")."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from services.entrypoints.cli.runner import run_with_runtime

if TYPE_CHECKING:
    from rich.console import Console

    from services.platform.runtime import Runtime
    from services.platform.settings import Settings
    from services.summaries.packs.periods import PackPeriod


def pack_command(
    *,
    area: str,
    week: str | None,
    month: str | None,
    quarter: str | None,
    unit: str | None,
    manager: str | None,
    format_: str,
    as_of: str | None,
    output: Path | None,
    chart: Path | None,
) -> None:
    from services.entrypoints.cli.as_of import as_of_day
    from services.platform.clock import today_in_london
    from services.summaries.packs.build import PeriodNotBegun, check_period_begun
    from services.summaries.packs.periods import PackPeriod
    from services.summaries.packs.render import FORMATS

    chosen = [
        name
        for name, value in (("--week", week), ("--month", month), ("--quarter", quarter))
        if value is not None
    ]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give one of --week YYYY-Www, --month YYYY-MM or --quarter YYYY-Qn"
            + (f", not {' and '.join(chosen)}" if chosen else "")
        )
    option, text = ("--month", month) if month is not None else ("--quarter", quarter)
    assert text is not None
    if unit is not None or manager is not None:
        raise typer.BadParameter(
            "the monthly and quarterly packs are an Area's (each shows its units and teams)",
            param_hint="--unit" if unit is not None else "--manager",
        )
    if format_ not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, not {format_!r}")
    try:
        period = PackPeriod.parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from error
    if (option == "--month") != (period.every == "monthly"):
        raise typer.BadParameter(
            f"{text!r} is a {period.noun}; use --{period.noun}", param_hint=option
        )
    # A past period is judged as of its last day, the current one as of today.
    day = as_of_day(as_of) if as_of is not None else period.judged_on(today_in_london())
    try:
        check_period_begun(period, day)
    except PeriodNotBegun as error:
        raise typer.BadParameter(str(error), param_hint=option) from error
    text_out, png = run_with_runtime(
        lambda runtime: render_pack_text(runtime, area, period, day, format_), read_only=True
    )
    from services.platform.private_files import write_user_file

    if chart is not None:
        write_user_file(chart, png)
    if output is None:
        sys.stdout.write(text_out)
    else:
        write_user_file(output, text_out)


async def render_pack_text(
    runtime: Runtime, area: str, period: PackPeriod, as_of: date, format_: str
) -> tuple[str, bytes]:
    from services.entrypoints.cli.failures import NotFound
    from services.summaries.packs.build import build_pack
    from services.summaries.packs.chart import pack_chart
    from services.summaries.packs.render import render_pack
    from services.summaries.queries import known_areas

    async with runtime.sessions() as session:
        areas = await known_areas(session=session)
        if areas and area not in areas:
            raise NotFound("Area", area, areas)
        pack = await build_pack(
            session=session,
            area=area,
            period=period,
            as_of=as_of,
            national=runtime.settings.trials_national,
        )
    png = pack_chart(pack)
    return render_pack(pack, format_, chart=png), png


def write_demo_packs(settings: Settings, *, as_of: date) -> dict[str, Path]:
    """`followup demo`: the demo Area's weekly summary of its last week, its monthly pack of
    the last whole month before the demo's as-of date (2017-07 by default) and its quarterly
    pack of the quarter holding that date (2017-Q3, under way), as HTML under
    `<data dir>/demo/`; their paths by kind. A past period is judged as of its last day."""
    from services.entrypoints.cli.summary import _render as weekly
    from services.entrypoints.demo.plan import AREA, LAST_DAY
    from services.platform.private_files import make_data_dir, write_user_file
    from services.summaries.packs.periods import PackPeriod
    from services.summaries.weeks import IsoWeek

    week = IsoWeek.of(LAST_DAY)
    month = PackPeriod.of(as_of, "monthly").previous()
    quarter = PackPeriod.of(as_of, "quarterly")

    async def make(runtime: Runtime) -> dict[str, str]:
        found = {"weekly": (await weekly(runtime, AREA, None, None, week, as_of, "html", False))[0]}
        for period in (month, quarter):
            day = period.judged_on(as_of)
            found[period.every] = (await render_pack_text(runtime, AREA, period, day, "html"))[0]
        return found

    pages = run_with_runtime(make, settings=settings)
    folder = settings.data_dir / "demo"
    make_data_dir(folder)
    names = {
        "weekly": f"weekly-{week}.html",
        "monthly": f"monthly-{month}.html",
        "quarterly": f"quarterly-{quarter}.html",
    }
    paths = {}
    for kind, page in pages.items():
        paths[kind] = folder / names[kind]
        write_user_file(paths[kind], page)
    return paths


def print_demo_packs(out: Console, settings: Settings, *, as_of: date) -> dict[str, Path]:
    """The lines `followup demo` prints: where the weekly summary and the packs are."""
    paths = write_demo_packs(settings, as_of=as_of)
    titles = {
        "weekly": "Weekly summary",
        "monthly": "Monthly performance review pack",
        "quarterly": "Quarterly Area Performance Review pack",
    }
    for kind, path in paths.items():
        out.print(f"{titles[kind]}: {path}", highlight=False, soft_wrap=True)
    return paths
