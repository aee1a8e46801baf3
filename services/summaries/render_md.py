"""The summary as Markdown (GitHub tables), one function per section kind. Every cell and
label may hold event data (names, recommendation texts, ids), so each goes through
services.platform.text_safety."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from services.platform.text_safety import markdown_cell, markdown_text
from services.summaries.model import (
    AuditSeal,
    Breakdown,
    Counts,
    Custody,
    Lapses,
    Recommendations,
    Section,
    Summary,
    Timeliness,
    Workload,
)

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
    out = [f"## Timeliness by rule, week {section.week}", ""]
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
    out += ["### On-time rate per week (13 weeks)", ""]
    trend_rows = ([r.rule, *(pct(p.on_time_pct) for p in r.trend)] for r in rows)
    out += table(("rule", *section.weeks), trend_rows)
    return out


def _breakdown(section: Breakdown) -> list[str]:
    out = [f"## By {section.by}, week {section.week}", ""]
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
    out = [f"## Open workload: due {_day(section.starts)} to {_day(section.ends)}", ""]
    headers = ("due in next 14 days", "open past due")
    out += table(
        ("team (manager)", *headers),
        ([_who(t.staff_id, t.name), t.due_next_14, t.open_past_due] for t in section.teams),
    )
    out.append("")
    out += table(
        ("person", "team", *headers),
        (
            [_who(p.staff_id, p.name), p.team or "-", p.due_next_14, p.open_past_due]
            for p in section.people
        ),
    )
    return out


def _custody(section: Custody) -> list[str]:
    out = [
        f"## Custody time limits expiring {_day(section.starts)} to {_day(section.ends)} "
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
        f"Week {_day(week.monday)} to {_day(week.sunday)}; as of {_day(summary.as_of)}. "
        "Due: not cancelled. On time: met / (met + late + lapsed).",
        "",
    ]
    section: Section
    for section in summary.sections:
        lines += [*RENDERERS[section.kind](section), ""]
    return "\n".join(lines)
