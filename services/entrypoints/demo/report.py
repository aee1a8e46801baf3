"""What `followup demo` prints: the week's outcome per rule, then every late or lapsed item."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from services.entrypoints.demo.inspections import render_inspections
from services.entrypoints.demo.run import DemoResult
from services.entrypoints.demo.week import AREA, AREA_NAME, WEEK
from services.rules.calendar import Calendar
from services.rules.model import STATES

ITEM = {"hearing-record-sheet": "hearing", "victim-letter": "victim", "case-review": "stage"}
# No box: column rules would push the tables past 80 columns, the width of a pipe or a log.
TABLE_STYLE: dict[str, Any] = {"box": None, "pad_edge": False, "header_style": "bold underline"}
COLOUR = {"met": "green", "met-late": "yellow", "lapsed": "red", "cancelled": "dim"}


def render(console: Console, result: DemoResult) -> None:
    console.print(
        f"[bold]{AREA_NAME} Area[/] ({AREA}): week {WEEK[0]:%a} {WEEK[0].day} - "
        f"{_day(WEEK[-1])} {WEEK[-1].year}",
        highlight=False,
    )
    console.print(
        f"As of {_day(result.as_of)} {result.as_of.year}: {result.published} events "
        f"through Redis Streams, {len(result.obligations)} obligations",
        style="dim",
        highlight=False,
    )
    console.print()
    console.print(summary_table(result))
    late = [r for r in result.obligations if r["state"] in ("met-late", "lapsed")]
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
            f"Trial outcomes: {result.trial_events} published (February to July 2017, the demo"
            " Area and three others); the packs and the Area page show the rate of trials not"
            " proceeding for prosecution reasons against the national one.",
            highlight=False,
            soft_wrap=True,
        )
    _in_a_browser(console, result)


def _in_a_browser(console: Console, result: DemoResult) -> None:
    """Where the people the demo is for would look: the pages, signed in by emailed link."""
    managers = [p for p in result.staff.values() if p.get("role") == "legal-manager"]
    dccps = [p for p in result.staff.values() if p.get("role") == "dccp"]
    console.print()
    console.print(
        "In a browser: run `followup serve`, open http://127.0.0.1:8040/sign-in",
        highlight=False,
        soft_wrap=True,
    )
    for person in managers[:1] + dccps[:1]:
        console.print(
            f"  and sign in as {person['name']} ({person['role']}): {person['email']}",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        "  With no mail server set, the link arrives in the data folder's outbox/ (./var/outbox).",
        style="dim",
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
