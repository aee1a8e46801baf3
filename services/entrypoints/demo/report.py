"""What `followup demo` prints: the weeks' outcome per rule, every late or lapsed item of the
last week, and where to look next (the dashboard, the packs, the alerts, the inspection
report)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from services.entrypoints.demo.inspections import render_inspections
from services.entrypoints.demo.plan import AREA, AREA_NAME
from services.entrypoints.demo.run import DemoResult
from services.rules.calendar import Calendar
from services.rules.model import STATES

if TYPE_CHECKING:
    from services.platform.settings import Settings

ITEM = {"hearing-record-sheet": "hearing", "victim-letter": "victim", "case-review": "stage"}
# No box: column rules would push the tables past 80 columns, the width of a pipe or a log.
TABLE_STYLE: dict[str, Any] = {"box": None, "pad_edge": False, "header_style": "bold underline"}
COLOUR = {"met": "green", "met-late": "yellow", "lapsed": "red", "cancelled": "dim"}


def render(console: Console, result: DemoResult) -> None:
    first, last = result.weeks[0].monday, result.weeks[-1].monday + timedelta(days=6)
    console.print()
    console.print(
        f"[bold]{AREA_NAME} Area[/] ({AREA}): {len(result.weeks)} weeks, "
        f"{_day(first)} - {_day(last)} {last.year}",
        highlight=False,
    )
    console.print(
        f"As of {_day(result.as_of)} {result.as_of.year}: {result.published:,} events "
        f"through Redis Streams, {len(result.obligations):,} obligations",
        style="dim",
        highlight=False,
    )
    console.print()
    console.print(summary_table(result))
    # Every late or lapsed item of the last week; the earlier weeks are in the packs.
    late = [
        r
        for r in result.obligations
        if r["state"] in ("met-late", "lapsed")
        and last - timedelta(6) <= date.fromisoformat(r["due"]) <= last
    ]
    for rule in sorted({r["rule"] for r in late}):
        console.print()
        console.print(late_table(rule, [r for r in late if r["rule"] == rule], result))
    console.print()
    if late:
        console.print(
            "+N: working days past due, to when it was done or else to the as-of date.",
            style="dim",
        )
    else:
        console.print("Nothing late or lapsed.")
    console.print(
        f"Look further: followup obligations --json --state lapsed --as-of {result.as_of}",
        highlight=False,
        soft_wrap=True,
    )
    if result.reallocations:
        console.print()
        console.print(reallocations_table(result))
    if result.inspections:
        render_inspections(console, result.inspections, result.as_of)
    if result.trial_events:
        console.print(
            f"Trial outcomes: {result.trial_events} recorded; the packs and the Area page show"
            " the rate of trials not proceeding for prosecution reasons.",
            highlight=False,
            soft_wrap=True,
        )


def where_to_look(
    console: Console, result: DemoResult, *, settings: Settings, packs: dict[str, Path]
) -> None:
    """The dashboard, the weekly pack, the alerts sent and the inspection report."""
    managers = [p for p in result.staff.values() if p.get("role") == "legal-manager"]
    dccps = [p for p in result.staff.values() if p.get("role") == "dccp"]
    outbox = settings.data_dir / "outbox"
    console.print()
    console.print("[bold]Where to look[/]")
    console.print(
        f"  Dashboard: run `followup serve`, open http://{settings.http_host}:"
        f"{settings.http_port}/sign-in",
        highlight=False,
        soft_wrap=True,
    )
    for person in managers[:1] + dccps[:1]:
        console.print(
            f"    and sign in as {person['name']} ({person['role']}): {person['email']};"
            f" the link arrives in {outbox}",
            highlight=False,
            soft_wrap=True,
        )
    if "weekly" in packs:
        console.print(f"  Weekly pack: {packs['weekly']}", highlight=False, soft_wrap=True)
    console.print(
        f"  Alerts sent: {result.alerts_sent:,} (digest emails in {outbox});"
        " list them with `followup alerts`",
        highlight=False,
        soft_wrap=True,
    )
    if result.clock_ahead is not None:
        console.print(
            f"    this data folder's lapse clock first started on {result.clock_ahead}, after"
            " these weeks: they raised no alerts here; set FOLLOWUP_DATA_DIR to an empty folder",
            style="yellow",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        "  Inspection report: followup audit report --inspection HMCPSI-AAP-TC-2017"
        " --format html -o report.html",
        highlight=False,
        soft_wrap=True,
    )


def summary_table(result: DemoResult) -> Table:
    table = Table(
        "rule",
        *("due", "met\non time", "met\nlate", "lapsed", "open", "cancelled", "on-time\nrate"),
        title="Obligations by rule",
        caption="due: not cancelled. on time: met on time / (met + late + lapsed)",
        **TABLE_STYLE,
    )
    table.columns[0].no_wrap = True
    for column in table.columns[1:]:
        column.justify = "right"
    totals: dict[str, int] = dict.fromkeys(STATES, 0)
    for rule, counts in result.counts.items():
        table.add_row(rule, *_counts_row(counts))
        for state, n in counts.items():
            totals[state] += n
    if len(result.counts) > 1:
        table.add_section()
        table.add_row("all", *_counts_row(totals), style="bold")
    return table


def _counts_row(counts: dict[str, int]) -> list[str]:
    judged = counts["met"] + counts["met-late"] + counts["lapsed"]
    rate = f"{100 * counts['met'] / judged:.0f}%" if judged else "-"
    owed = sum(counts.values()) - counts["cancelled"]
    states = ("met", "met-late", "lapsed", "open", "cancelled")
    return [str(owed), *(str(counts[s]) for s in states), rate]


def late_table(rule: str, rows: list[dict[str, Any]], result: DemoResult) -> Table:
    table = Table(
        "case",
        ITEM.get(rule, "key"),
        "owner",
        "manager",
        "due",
        "closed",
        "outcome",
        title=f"{rule}: late and lapsed ({len(rows)})",
        **TABLE_STYLE,
    )
    calendar = Calendar()
    for row in rows:
        person = result.staff.get(row["owner"] or "", {})
        closed = date.fromisoformat(row["closed_on"]) if row["closed_on"] else None
        over = _working_days_between(
            calendar, date.fromisoformat(row["due"]), closed or result.as_of
        )
        label = "late" if row["state"] == "met-late" else "lapsed"
        table.add_row(
            row["urn"] or "-",
            row["key"].rpartition("/")[2],
            f"{row['owner'] or '-'} {_surname(person.get('name'))}".strip(),
            person.get("line_manager") or "-",
            f"{date.fromisoformat(row['due']):%-d %b}",
            f"{closed:%-d %b}" if closed else "never",
            f"[{COLOUR[row['state']]}]{label} +{over}[/]",
        )
    return table


def reallocations_table(result: DemoResult) -> Table:
    """The cases the weekly conference call moved, as the audit trail records them."""
    table = Table(
        "case",
        "on",
        "from",
        "to",
        "moved",
        "reason",
        title=f"Cases reallocated ({len(result.reallocations)}), from the audit trail",
        **TABLE_STYLE,
    )
    for move in result.reallocations:
        table.add_row(
            move["urn"],
            f"{date.fromisoformat(move['reallocated_date']):%-d %b}",
            move["from"] or "-",
            move["to"],
            str(len(move["moved"])),
            move["reason"],
        )
    return table


def _working_days_between(calendar: Calendar, start: date, end: date) -> int:
    return sum(
        calendar.is_working_day(start + timedelta(n)) for n in range(1, (end - start).days + 1)
    )


def _surname(name: str | None) -> str:
    # Enough to recognise someone while the table still fits 80 columns.
    return (name or "").rpartition(" ")[2]


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"
