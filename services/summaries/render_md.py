"""The summary as Markdown (GitHub tables), one function per section kind. Every cell and
label may hold event data (names, recommendation texts, ids), so each goes through
services.platform.text_safety."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from services.platform.text_safety import markdown_cell, markdown_text
from services.rules.calendar import LONDON
from services.summaries.model import (
    AlertAction,
    AuditSeal,
    Backlog,
    Breakdown,
    Changes,
    Counts,
    Custody,
    Lapses,
    Recommendations,
    ReviewRow,
    ReviewTimeliness,
    Section,
    Summary,
    Timeliness,
    Workload,
)
from services.summaries.weeks import IsoWeek

AS_OF_FROM = {
    "given": "the date asked for",
    "week-end": "the week's end",
    "today": "today",
    "publication": "the publication date",
}
COUNT_HEADERS = ("due", "met", "late", "lapsed", "open", "on-time rate")


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def counts_cells(counts: Counts) -> list[str]:
    return [
        *(str(n) for n in (counts.due, counts.met, counts.late, counts.lapsed, counts.open)),
        pct(counts.on_time_pct),
    ]


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(map(markdown_cell, headers)) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(markdown_cell, row)) + " |" for row in rows]
    return lines


def _timeliness(section: Timeliness) -> list[str]:
    rows = [*section.rules, section.all]
    out = [
        f"## Timeliness by rule: obligations due in week {section.week} (counted by due week)",
        "",
    ]
    periods: list[tuple[str, Callable[[Any], Counts]]] = [
        (f"week {section.week}", lambda r: r.week),
        (f"previous week {section.previous}", lambda r: r.previous),
        ("last 4 weeks", lambda r: r.last_4),
        ("last 13 weeks", lambda r: r.last_13),
    ]
    for title, pick in periods:
        out += [f"### {title[0].upper()}{title[1:]}", ""]
        out += table(("rule", *COUNT_HEADERS), ([r.rule, *counts_cells(pick(r))] for r in rows))
        out.append("")
    out += ["### On-time rate per due week (13 weeks)", ""]
    trend_rows = ([r.rule, *(pct(p.on_time_pct) for p in r.trend)] for r in rows)
    out += table(("rule", *section.weeks), trend_rows)
    return out


def _breakdown(section: Breakdown) -> list[str]:
    out = [f"## By {section.by}: obligations due in week {section.week} (counted by due week)", ""]
    for group in section.groups:
        out += [f"### {markdown_text(group.label)}", ""]
        rows = [[r.rule, *counts_cells(r.counts)] for r in group.rules]
        rows.append(["all", *counts_cells(group.total)])
        out += [*table(("rule", *COUNT_HEADERS), rows), ""]
    if not section.groups:
        out.append("Nothing due.")
    return out


def _lapses(section: Lapses) -> list[str]:
    out = [f"## Lapses: due in {section.week}, still open past due ({len(section.items)})", ""]
    rows = (
        [
            i.obligation_id,
            i.rule,
            i.urn or "-",
            _who(i.owner, i.owner_name),
            i.manager or "-",
            _day(i.due),
            i.age_days,
            i.escalation or "-",
        ]
        for i in section.items
    )
    headers = (
        "obligation",
        "rule",
        "case",
        "owner",
        "manager",
        "due",
        "days past due",
        "escalated to",
    )
    return [*out, *table(headers, rows)] if section.items else [*out, "None."]


def _workload(section: Workload) -> list[str]:
    out = [
        f"## Workload against lapses, as of {_day(section.starts)} "
        f"(due in next 14 days: {_day(section.starts)} to {_day(section.ends)})",
        "",
        "Open: open, not yet past due (any due date). Lapsed: open past due, whatever week it "
        "fell due in. Load: open + lapsed.",
        "",
    ]
    headers = ("open", "lapsed", "load", "due in next 14 days")
    out += table(
        ("team (manager)", *headers),
        (
            [_who(t.staff_id, t.name), t.open_not_due, t.open_past_due, t.load, t.due_next_14]
            for t in section.teams
        ),
    )
    out.append("")
    out += table(
        ("person", "team", *headers),
        (
            [
                _who(p.staff_id, p.name),
                p.team or "-",
                p.open_not_due,
                p.open_past_due,
                p.load,
                p.due_next_14,
            ]
            for p in section.people
        ),
    )
    out += [
        "",
        f"### Who could take cases ({len(section.capacity)})",
        "",
        "Casework staff of each team with no lapse and a load at or below the team's median.",
        "",
    ]
    if not section.capacity:
        return [*out, "None."]
    out += table(
        ("team (manager)", "person", "unit", "load", "lapsed", "team median load"),
        (
            [c.team or "no team", _who(c.staff_id, c.name), c.unit or "-", c.load,
             c.lapsed, f"{c.team_median:.1f}"]
            for c in section.capacity
        ),
    )  # fmt: skip
    return out


def _review_rows(rows: Sequence[ReviewRow]) -> list[list[Any]]:
    return [[r.label, *counts_cells(r.counts)] for r in rows]


def _review(section: ReviewTimeliness) -> list[str]:
    out = [
        f"## Case review timeliness: reviews due in week {section.week} (counted by due week)",
        "",
    ]
    out += table(
        ("period", *COUNT_HEADERS),
        [
            ["all reviews, week " + section.week, *counts_cells(section.all)],
            ["all reviews, last 13 due weeks", *counts_cells(section.last_13)],
        ],
    )
    for title, rows in (
        ("By court type", section.by_court),
        ("By unit", section.by_unit),
        ("By legal manager's team", section.by_team),
        ("By person", section.by_person),
    ):
        out += ["", f"### {title}", ""]
        out += table((title.removeprefix("By ").lower(), *COUNT_HEADERS), _review_rows(rows))
    return out


def _backlog(section: Backlog) -> list[str]:
    out = [
        f"## Every lapse still open on {_day(section.as_of)}, whatever week it fell "
        f"due in ({section.total})",
        "",
    ]
    if not section.total:
        return [*out, "None."]
    out += table(
        ("due week", "lapsed"),
        [*([g.key, g.lapsed] for g in section.by_week), ["all", section.total]],
    )
    out.append("")
    out += table(("unit", "lapsed"), ([g.label, g.lapsed] for g in section.by_unit))
    out.append("")
    out += table(("team", "lapsed"), ([g.label, g.lapsed] for g in section.by_team))
    listed = len(section.items)
    shown = f"the oldest {listed} of {section.total}" if section.more else f"all {listed}"
    out += ["", f"### Lapses, oldest first ({shown})", ""]
    rows = (
        [
            i.obligation_id,
            i.rule,
            i.urn or "-",
            _who(i.owner, i.owner_name),
            i.manager or "-",
            _day(i.due),
            str(IsoWeek.of(i.due)),
            i.age_days,
            i.escalation or "-",
        ]
        for i in section.items
    )
    headers = ("obligation", "rule", "case", "owner", "manager", "due", "due week",
               "days past due", "escalated to")  # fmt: skip
    return [*out, *table(headers, rows)]


def moment_text(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M")


def _alert_rows(items: Sequence[AlertAction], snoozes: bool) -> list[list[Any]]:
    return [
        [
            moment_text(a.at),
            a.alert_id,
            a.obligation_ref or "-",
            a.rule,
            a.urn or "-",
            a.level or "-",
            a.recipient or "-",
            a.by,
            *([a.until or "-", a.reason or "-"] if snoozes else []),
        ]
        for a in items
    ]


def _changes(section: Changes) -> list[str]:
    out = [
        f"## Since the last call: recorded {moment_text(section.since)} to "
        f"{moment_text(section.until)} (counted by when recorded)",
        "",
        f"### Case reallocations ({len(section.reallocations)})",
        "",
    ]
    if section.reallocations:
        out += table(
            ("decided", "case", "from", "to", "reason", "obligations moved", "by"),
            (
                [moment_text(r.at), r.urn, r.from_owner or "-", r.to_owner or "-", r.reason or "-",
                 r.moved, r.by]
                for r in section.reallocations
            ),
        )  # fmt: skip
    else:
        out.append("None.")
    alert_headers = ("recorded", "alert", "obligation", "rule", "case", "step", "recipient", "by")
    out += ["", f"### Acknowledgements ({len(section.acknowledgements)})", ""]
    if section.acknowledgements:
        out += table(alert_headers, _alert_rows(section.acknowledgements, False))
    else:
        out.append("None.")
    out += ["", f"### Snoozes ({len(section.snoozes)})", ""]
    if section.snoozes:
        out += table((*alert_headers, "until", "reason"), _alert_rows(section.snoozes, True))
    else:
        out.append("None.")
    return out


def _custody(section: Custody) -> list[str]:
    out = [
        f"## Custody time limits expiring in the next 28 days: {_day(section.starts)} to "
        f"{_day(section.ends)} "
        f"({len(section.items)})",
        "",
    ]
    rows = (
        [i.urn or "-", i.defendant, _who(i.owner, i.owner_name), _day(i.expires), i.days_left]
        for i in section.items
    )
    headers = ("case", "defendant", "owner", "expires", "days left")
    return [*out, *table(headers, rows)] if section.items else [*out, "None."]


def _recommendations(section: Recommendations) -> list[str]:
    out = [f"## Inspection recommendations: follow-up status ({section.total})", ""]
    if not section.total:
        return [*out, "None recorded."]
    out += table(
        (*(c.status for c in section.counts), "all"),
        [[*(c.count for c in section.counts), section.total]],
    )
    out += ["", f"### Needing attention ({len(section.attention)})", ""]
    rows = (
        [
            i.inspection_id,
            i.number,
            i.text,
            ", ".join(_who(o.staff_id, o.name) for o in i.owners) or "-",
            i.status,
            _day(i.next_due) if i.next_due else "-",
            _day(i.final_due) if i.final_due else "-",
            ", ".join(i.flags) or "-",
        ]
        for i in section.attention
    )
    headers = ("inspection", "no.", "recommendation", "owners", "status", "next due",
               "final due", "flags")  # fmt: skip
    return [*out, *table(headers, rows)] if section.attention else [*out, "None."]


def _audit(section: AuditSeal) -> list[str]:
    out = ["## Audit trail", ""]
    if section.checkpoint_id is None:
        return [*out, "No signed checkpoint yet (`followup audit checkpoint`)."]
    return [
        *out,
        f"Latest signed checkpoint {section.checkpoint_id}, {section.made_at}: "
        f"{section.entries} entries, head `{section.head}`. Check it with "
        f"`followup audit verify --checkpoint {section.checkpoint_id}`.",
    ]


RENDERERS: dict[str, Callable[[Any], list[str]]] = {
    "review": _review,
    "backlog": _backlog,
    "changes": _changes,
    "timeliness": _timeliness,
    "breakdown": _breakdown,
    "lapses": _lapses,
    "workload": _workload,
    "custody": _custody,
    "recommendations": _recommendations,
    "audit": _audit,
}


def _who(staff_id: str | None, name: str | None) -> str:
    if staff_id is None:
        return "no owner"
    return f"{name} ({staff_id})" if name else staff_id


def _day(day: date) -> str:
    return day.isoformat()


def summary_markdown(summary: Summary) -> str:
    week = summary.week
    lines = [
        f"# Weekly summary {week}: {markdown_cell(summary.scope.label())}",
        "",
        f"Week {_day(week.monday)} to {_day(week.sunday)}; judged as of {_day(summary.as_of)}"
        f" ({AS_OF_FROM.get(summary.as_of_from, summary.as_of_from)}). "
        "Due: not cancelled. On time: met / (met + late + lapsed). Counts by due week count "
        "obligations whose due date falls in the week; counts by when recorded count events "
        "recorded in the period.",
        "",
    ]
    section: Section
    for section in summary.sections:
        lines += [*RENDERERS[section.kind](section), ""]
    return "\n".join(lines)
