"""The packs as Markdown, JSON, CSV and one printable HTML page with its chart embedded as
a `data:` URI, like the weekly summary (docs/contract.md section 9). Event data goes
through services.platform.text_safety (Markdown, CSV) or Jinja2's autoescape (HTML)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.platform.text_safety import csv_text, markdown_cell
from services.summaries.iqa import IqaGroup
from services.summaries.model import AuditSeal, Counts, Recommendations
from services.summaries.packs.iqa_section import IqaSection
from services.summaries.packs.model import (
    Actions,
    AssuranceChecks,
    Compliance,
    CustodyLimits,
    DataQuality,
    DisclosureRecords,
    FileQuality,
    FileRow,
    Pack,
    Reviews,
    Row,
    Trend,
    VictimLetters,
)
from services.summaries.packs.trials_render import trials_csv, trials_markdown
from services.summaries.render_html import TEMPLATES as WEEKLY_TEMPLATES
from services.summaries.render_md import COUNT_HEADERS, RENDERERS, counts_cells, pct, table
from services.summaries.trials import TrialsSection

TEMPLATES = Path(__file__).parent / "templates"
FORMATS = ("md", "html", "json", "csv")
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}
COUNT_FIELDS = ("due", "met", "late", "lapsed", "open", "on_time_pct")


def change(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


# --- Markdown -----------------------------------------------------------------------------


def _rows(title: str, rows: Sequence[Row], pack: Pack, first: str) -> list[str]:
    out = [f"### {title}", ""]
    if not rows:
        return [*out, "None due.", ""]
    headers = (first, *COUNT_HEADERS, f"on time {pack.previous}", "change (points)")
    out += table(
        headers,
        (
            [
                r.label,
                *counts_cells(r.current),
                pct(r.previous.on_time_pct),
                change(r.change_points),
            ]
            for r in rows
        ),
    )
    return [*out, ""]


def _letters(section: VictimLetters, pack: Pack) -> list[str]:
    out = [f"## Victim letters (VCL), {pack.period}", ""]
    out += ["Late: sent after the due date. Missing: not sent and past due (lapsed).", ""]
    out += _rows("On time per team", [*section.by_team, section.total], pack, "team")
    out += _rows("By decision", section.by_decision, pack, "decision")
    out += _rows("Enhanced and standard victims", section.by_victim, pack, "victim")
    return out


def _reviews(section: Reviews, pack: Pack) -> list[str]:
    out = [f"## Case review timeliness, {pack.period}", ""]
    out += _rows("By court type", [*section.by_court, section.total], pack, "court")
    out += _rows("By stage", section.by_stage, pack, "stage")
    out += _rows("By unit", section.by_unit, pack, "unit")
    return out


def _quality(section: DataQuality, pack: Pack) -> list[str]:
    out = [f"## Finalisation data quality (reason codes), {pack.period}", ""]
    out += [
        "Due: unsuccessful finalisations recorded without a reason code falling due; met and"
        " late: corrected (on time, late); lapsed: still missing past due.",
        "",
    ]
    return out + _rows("By unit", [*section.by_unit, section.total], pack, "unit")


def _assurance(section: AssuranceChecks, pack: Pack) -> list[str]:
    out = [f"## 10% check completion per manager, {pack.period}", ""]
    out += [
        "Checks recorded: finalisation checks the manager recorded in the month. Sampled:"
        " second checks of the manager's sampled checks due in the month.",
        "",
    ]
    headers = ("manager", "checks recorded", *COUNT_HEADERS, f"on time {pack.previous}")
    out += table(
        headers,
        (
            [
                _who(m.manager, m.name),
                m.checks_recorded,
                *counts_cells(m.sampled),
                pct(m.previous.on_time_pct),
            ]
            for m in [*section.managers, section.total]
        ),
    )
    return [*out, ""]


def _custody(section: CustodyLimits, pack: Pack) -> list[str]:
    out = [f"## Custody time limits: lapses and near misses, {pack.period}", ""]
    out += _rows(
        "Limits expiring and 28-day reviews due", [section.limits, section.reviews], pack, ""
    )
    headers = ("obligation", "urn", "owner", "due", "closed", "what")
    for title, items in (("Failures", section.failures), ("Near misses", section.near_misses)):
        out += [f"### {title} ({len(items)})", ""]
        out += (
            table(
                headers,
                (
                    [
                        e.obligation_id,
                        e.urn or "-",
                        e.owner or "-",
                        e.due.isoformat(),
                        e.closed_on.isoformat() if e.closed_on else "-",
                        e.outcome,
                    ]
                    for e in items
                ),
            )
            if items
            else ["None."]
        )
        out.append("")
    return out


def _actions(section: Actions, pack: Pack) -> list[str]:
    out = [f"## Inspection follow-up actions taken in {pack.period}", ""]
    if not section.items:
        return [*out, "None.", ""]
    rows = (
        [a.on.isoformat(), a.entity, a.entity_id, a.action, a.actor, a.event_type]
        for a in section.items
    )
    return [*out, *table(("date", "entity", "id", "action", "by", "event"), rows), ""]


def _recommendations(section: Recommendations, pack: Pack) -> list[str]:
    return [*RENDERERS["recommendations"](section), ""]


def _compliance(section: Compliance, pack: Pack) -> list[str]:
    title = {
        "data-quality": "Data quality assurance (finalisation reason codes)",
        "assurance": "10% check compliance (assurance sample)",
    }[section.measure]
    out = [f"## {title}, {pack.period}", ""]
    headers = (
        "unit",
        *(f"{m} on time (due)" for m in section.months),
        *(f"{pack.period} {h}" for h in COUNT_HEADERS),
        f"{section.previous} on time",
        "change (points)",
    )
    out += table(headers, (_trend_cells(t) for t in [*section.units, section.area]))
    if section.checks_recorded:
        out += [
            "",
            "Finalisation checks recorded: "
            + ", ".join(
                f"{m} {n}" for m, n in zip(section.months, section.checks_recorded, strict=True)
            ),
        ]
    return [*out, ""]


def _trend_cells(trend: Trend) -> list[str]:
    return [
        trend.label,
        *(f"{pct(c.on_time_pct)} ({c.due})" for c in trend.months),
        *counts_cells(trend.quarter),
        pct(trend.previous.on_time_pct),
        change(trend.change_points),
    ]


def _files(section: FileQuality, pack: Pack) -> list[str]:
    out = [f"## Police file quality (National File Standard), {pack.period}", ""]
    out += [FILES_NOTE, ""]
    headers = ("force", "files", "met standard", "share met", "failings", *COUNT_HEADERS)
    out += table(headers, (_file_cells(r) for r in [*section.by_force, section.total]))
    return [*out, ""]


def _file_cells(row: FileRow) -> list[Any]:
    return [
        row.label,
        row.files,
        row.met_standard,
        pct(row.share_met_pct),
        failings_text(row),
        *counts_cells(row.feedback),
    ]


def failings_text(row: FileRow) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in row.failings.items() if n) or "-"


def _disclosure(section: DisclosureRecords, pack: Pack) -> list[str]:
    out = [f"## Disclosure Record Sheet: decisions recorded on time, {pack.period}", ""]
    out += [DISCLOSURE_NOTE, ""]
    return out + _rows("Per team", [*section.by_team, section.total], pack, "team")


FILES_NOTE = (
    "Files: police files assessed in the period (each file once, by its latest assessment)."
    " Share met: files meeting the standard over files. Failings: files naming each failing."
    " Counts: feedback to the force due in the period (rule file-quality-feedback)."
)
DISCLOSURE_NOTE = (
    "Due: disclosure decisions to be recorded on the Disclosure Record Sheet after unused"
    " material was served (rule disclosure-record), per team of the case owner."
)


def _who(staff_id: str, name: str | None) -> str:
    return f"{name} ({staff_id})" if name else staff_id


# --- IQA (docs/contract.md section 9, "Added: IQA in the monthly and quarterly packs") ------

IQA_NOTE = (
    "Quota and reassessment: obligations due in the period (a month's IQAs fall due the month"
    " after). Leniency: reassessed IQAs the manager rated more favourably than the"
    " reassessor, over all reassessed. Gap: the share the managers rated as meeting the"
    " standard (fully-met) minus the share the reassessors did, in points."
)


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _group_cells(g: IqaGroup) -> list[Any]:
    return [g.name, g.iqas, g.reassessed, g.lenient, pct(g.leniency_pct), _points(g.gap_pp)]


def _iqa(section: IqaSection, pack: Pack) -> list[str]:
    out = [f"## Individual Quality Assessments (IQA), {pack.period}", "", IQA_NOTE, ""]
    out += [f"Leniency, gap and disclosure: the IQAs assessed in {section.assessed}.", ""]
    out += ["### Per manager", ""]
    if section.managers:
        out += table(
            ("manager", "IQAs", "quota on time (due)", "reassessments on time (due)",
             "reassessed", "lenient", "leniency", "gap (points)"),
            (
                [_who(m.manager, m.name), m.iqas,
                 f"{pct(m.quota.on_time_pct)} ({m.quota.due})",
                 f"{pct(m.reassessment.on_time_pct)} ({m.reassessment.due})",
                 m.reassessed, m.lenient, pct(m.leniency_pct), _points(m.gap_pp)]
                for m in section.managers
            ),
        )  # fmt: skip
    else:
        out.append("None.")
    out += ["", "### Leniency and gap: units, Area and national", ""]
    out += table(
        ("group", "IQAs", "reassessed", "lenient", "leniency", "gap (points)"),
        (_group_cells(g) for g in [*section.units, section.area, section.national]),
    )
    out += ["", "### Disclosure questions (the Area's IQAs)", ""]
    if section.disclosure:
        out += table(
            ("question", "answers", "compared with reassessor", "agreed"),
            (
                [d.question, ", ".join(f"{v} {n}" for v, n in d.answers), d.compared, d.agreed]
                for d in section.disclosure
            ),
        )
    else:
        out.append("None.")
    return [*out, ""]


MARKDOWN: dict[str, Callable[[Any, Pack], list[str]]] = {
    "victim-letters": _letters,
    "reviews": _reviews,
    "data-quality": _quality,
    "assurance": _assurance,
    "custody": _custody,
    "recommendations": _recommendations,
    "actions": _actions,
    "compliance": _compliance,
    "trials": lambda section, _pack: trials_markdown(section),
    "iqa": _iqa,
    "audit": lambda section, _pack: [*RENDERERS["audit"](section), ""],
    "file-quality": _files,
    "disclosure-records": _disclosure,
}


def pack_markdown(pack: Pack) -> str:
    lines = [
        f"# {markdown_cell(pack.title)}",
        "",
        f"{pack.period.noun.capitalize()} {pack.period.start} to {pack.period.end}, compared"
        f" with {pack.previous}; as of {pack.as_of}. Counts are of obligations due in the"
        " period (cancelled ones excluded); on time: met / (met + late + lapsed).",
        "",
    ]
    for section in pack.sections:
        lines += MARKDOWN[section.kind](section, pack)
    return "\n".join(lines)


# --- JSON and CSV -------------------------------------------------------------------------


def pack_json(pack: Pack) -> dict[str, Any]:
    return {
        "kind": pack.kind,
        "area": pack.area,
        "period": str(pack.period),
        "starts": pack.period.start.isoformat(),
        "ends": pack.period.end.isoformat(),
        "previous": str(pack.previous),
        "as_of": pack.as_of.isoformat(),
        "sections": [{"kind": s.kind, **_plain(dataclasses.asdict(s))} for s in pack.sections],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


def pack_csv(pack: Pack) -> str:
    """Every count of the pack, one line per section, group and period (long form): columns
    section, table, group, period, due, met, late, lapsed, open, on_time_pct; lists (CTL
    failures and near misses, actions) and recommendation counts have `count` instead."""
    return csv_text(list(_csv_rows(pack)))


def _csv_rows(pack: Pack) -> Iterator[dict[str, Any]]:
    current, previous = str(pack.period), str(pack.previous)
    for section in pack.sections:
        kind = section.kind
        tables: list[tuple[str, Sequence[Row]]] = []
        if isinstance(section, VictimLetters):
            tables = [
                ("team", [*section.by_team, section.total]),
                ("decision", section.by_decision),
                ("victim", section.by_victim),
            ]
        elif isinstance(section, Reviews):
            tables = [
                ("court", [*section.by_court, section.total]),
                ("stage", section.by_stage),
                ("unit", section.by_unit),
            ]
        elif isinstance(section, DataQuality):
            tables = [("unit", [*section.by_unit, section.total])]
        elif isinstance(section, CustodyLimits):
            tables = [("rule", [section.limits, section.reviews])]
            for name, items in (
                ("failures", section.failures),
                ("near-misses", section.near_misses),
            ):
                yield _line(kind, name, "all", current, count=len(items))
        elif isinstance(section, AssuranceChecks):
            for m in [*section.managers, section.total]:
                yield _line(kind, "manager", m.manager, current, m.sampled, count=m.checks_recorded)
                yield _line(kind, "manager", m.manager, previous, m.previous)
        elif isinstance(section, Recommendations):
            for c in section.counts:
                yield _line(kind, "status", c.status, str(pack.as_of), count=c.count)
        elif isinstance(section, Actions):
            yield _line(kind, "actions", "all", current, count=len(section.items))
        elif isinstance(section, AuditSeal):
            yield _line(kind, "checkpoint", section.head or "none", str(pack.as_of),
                        count=section.entries or 0)  # fmt: skip
        elif isinstance(section, TrialsSection):
            yield from trials_csv(section)
        elif isinstance(section, IqaSection):
            yield from _iqa_lines(section, current)
        elif isinstance(section, Compliance):
            for t in [*section.units, section.area]:
                for month, counts in zip(section.months, t.months, strict=True):
                    yield _line(f"{kind}:{section.measure}", "unit", t.label, month, counts)
                yield _line(f"{kind}:{section.measure}", "unit", t.label, current, t.quarter)
                yield _line(f"{kind}:{section.measure}", "unit", t.label, previous, t.previous)
        elif isinstance(section, FileQuality):
            for f in [*section.by_force, section.total]:
                yield _line(kind, "feedback", f.label, current, f.feedback, count=f.files)
                yield _line(kind, "met-standard", f.label, current, count=f.met_standard)
                for failing, n in f.failings.items():
                    yield _line(kind, f"failing:{failing}", f.label, current, count=n)
        elif isinstance(section, DisclosureRecords):
            tables = [("team", [*section.by_team, section.total])]
        for name, rows in tables:
            for r in rows:
                yield _line(kind, name, r.label, current, r.current)
                yield _line(kind, name, r.label, previous, r.previous)


def _iqa_lines(section: IqaSection, current: str) -> Iterator[dict[str, Any]]:
    """IQA: quota and reassessment counts per manager and the Area; per group, `count` the
    reassessed IQAs (table `reassessed`), the lenient ones (`lenient`), the leniency rate and
    gap in tenths (`leniency-tenths`, `gap-tenths`: 42.9% is 429); disclosure answers."""
    for m in section.managers:
        yield _line("iqa", "quota", m.manager, current, m.quota, count=m.iqas)
        yield _line("iqa", "reassessment", m.manager, current, m.reassessment)
    yield _line("iqa", "quota", "all", current, section.quota)
    yield _line("iqa", "reassessment", "all", current, section.reassessment)
    for g in [*section.units, section.area, section.national]:
        name = f"{g.level}:{g.name}"
        yield _line("iqa", "reassessed", name, current, count=g.reassessed)
        yield _line("iqa", "lenient", name, current, count=g.lenient)
        for table_name, value in (("leniency-tenths", g.leniency_pct), ("gap-tenths", g.gap_pp)):
            if value is not None:
                yield _line("iqa", table_name, name, current, count=round(value * 10))
    for d in section.disclosure:
        for answer, n in d.answers:
            yield _line("iqa", f"{d.question}:{answer}", "area", current, count=n)
        yield _line("iqa", f"{d.question}:agreed", "area", current, count=d.agreed)


def _line(
    section: str,
    table_name: str,
    group: str,
    period: str,
    counts: Counts | None = None,
    *,
    count: int | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "section": section,
        "table": table_name,
        "group": group,
        "period": period,
    }
    for name in COUNT_FIELDS:
        found[name] = getattr(counts, name) if counts is not None else ""
    found["count"] = "" if count is None else count
    return found


# --- HTML ---------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader([TEMPLATES, WEEKLY_TEMPLATES]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = pct
    environment.filters["change"] = change
    environment.filters["failings"] = failings_text
    environment.globals["files_note"] = FILES_NOTE
    environment.globals["disclosure_note"] = DISCLOSURE_NOTE
    environment.filters["who"] = lambda staff_id, name: (
        "no owner" if staff_id is None else f"{name} ({staff_id})" if name else staff_id
    )
    return environment


def pack_html(pack: Pack, *, chart: bytes | None = None, page: bool = True) -> str:
    """One self-contained printable page (`page`), or the sections alone for a page of the
    service's own; the chart (drawn when not given) is a `data:` image either way."""
    if chart is None:
        from services.summaries.packs.chart import pack_chart

        chart = pack_chart(pack)
    return (
        _environment()
        .get_template("pack.html" if page else "pack_sections.html")
        .render(pack=pack, chart=base64.b64encode(chart).decode())
    )


def trials_html(section: TrialsSection) -> str:
    """The trials section alone, as the packs draw it, for a page of the service's own."""
    return _environment().get_template("sections/trials.html").render(section=section)


def render_pack(pack: Pack, format_: str, *, chart: bytes | None = None) -> str:
    if format_ == "json":
        import json

        return json.dumps(pack_json(pack), indent=2) + "\n"
    if format_ == "csv":
        return pack_csv(pack)
    if format_ == "html":
        return pack_html(pack, chart=chart)
    if format_ == "md":
        return pack_markdown(pack)
    raise ValueError(f"a pack's format is one of {', '.join(FORMATS)}, not {format_!r}")
