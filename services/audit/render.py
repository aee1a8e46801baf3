"""Lay out a follow-up report (report.py) as Markdown, HTML, CSV or JSON."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from jinja2 import Environment, PackageLoader

from services.platform.text_safety import CsvWriter, markdown_cell, markdown_code, markdown_text

FORMATS = ("md", "html", "csv", "json")
# CSV: one row per action, the recommendation's columns repeated on each; a recommendation
# with no action yet has one row with the action columns empty.
CSV_COLUMNS = (
    "inspection_id",
    "recommendation_id",
    "number",
    "kind",
    "recommendation",
    "status",
    "flags",
    "rating",
    "response",
    "action_id",
    "action",
    "owner",
    "schedule",
    "action_state",
    "action_flags",
    "completed_on",
    "evidence_count",
    "lapses",
    "next_due",
    "chain_ok",
    # Added (docs/contract.md section 8): assumptions, lapsed periods, rows not matching the trail.
    "assumed",
    "periods_lapsed",
    "periods_ended",
    "integrity",
)


def render(report: dict[str, Any], fmt: str) -> str:
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {
        "md": markdown,
        "html": html,
        "csv": csv_text,
        "json": json_text,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return renderers[fmt](report)


def json_text(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def csv_text(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = CsvWriter(out, CSV_COLUMNS)
    writer.writeheader()
    for rec in report["recommendations"]:
        common = {
            "inspection_id": report["inspection"]["inspection_id"],
            "recommendation_id": rec["recommendation_id"],
            "number": rec["number"],
            "kind": rec["kind"],
            "recommendation": rec["text"],
            "status": rec["status"],
            "flags": " ".join(rec["flags"]),
            "rating": rec["rating"]["rating"] if rec["rating"] else "",
            "response": rec["response"] or "",
            "chain_ok": "yes" if report["chain"]["ok"] else "no",
            "integrity": " | ".join(p["sentence"] for p in rec["integrity"]) or "ok",
        }
        for action in rec["actions"] or [None]:
            row = dict(common)
            if action:
                row |= {
                    "action_id": action["action_id"],
                    "action": action["text"],
                    "owner": action["owner"],
                    "schedule": action["schedule"],
                    "action_state": action["state"],
                    "action_flags": " ".join(action["flags"]),
                    "completed_on": action["completed_on"] or "",
                    "evidence_count": len(action["evidence"]),
                    "lapses": " ".join(action["lapses"]),
                    "next_due": action["next_due"] or "",
                    "assumed": " ".join(action["assumed"]),
                    "periods_lapsed": action["periods_lapsed"] if action["recurrence"] else "",
                    "periods_ended": action["periods_ended"] if action["recurrence"] else "",
                }
            writer.writerow(row)
    return out.getvalue()


def markdown(report: dict[str, Any]) -> str:
    inspection, chain = report["inspection"], report["chain"]
    title = inspection["title"] or inspection["inspection_id"]
    kind = markdown_cell(inspection["kind"] or "unknown kind")
    lines = [f"# Follow-up: {markdown_cell(title)}", ""]
    lines += [
        f"- Inspection: {markdown_code(inspection['inspection_id'])} ({kind}), "
        f"published {markdown_cell(inspection['published_date'] or 'unknown')}"
        + (f", Area {markdown_cell(inspection['area'])}" if inspection["area"] else ""),
        f"- Status as of {markdown_cell(report['as_of'])}",
    ]
    if inspection["ratings"]:
        rated = ", ".join(
            f"{markdown_cell(k)}: {markdown_cell(v)}" for k, v in inspection["ratings"].items()
        )
        lines.append(f"- Ratings: {rated}")
    lines.append(
        "- Summary: "
        + ", ".join(f"{n} {markdown_cell(status)}" for status, n in report["summary"].items() if n)
    )
    lines += ["", f"**Audit trail:** {chain_sentence(chain)}", ""]
    lines += _markdown_integrity(report["integrity"]["problems"])
    for rec in report["recommendations"]:
        lines += _markdown_recommendation(rec)
    return "\n".join(lines).rstrip() + "\n"


def _markdown_integrity(problems: list[dict[str, Any]]) -> list[str]:
    if not problems:
        return ["**Stored rows:** every fact printed matches its audit entry.", ""]
    verb = "does" if len(problems) == 1 else "do"
    lines = [f"**Stored rows: {len(problems)} {verb} NOT match the audit trail:**", ""]
    lines += [f"- {markdown_cell(p['sentence'])}" for p in problems]
    return [*lines, ""]


def assumed_note(assumed: list[str]) -> str:
    """'(assumed: owner, due date)': what the data marks as not from the source."""
    if not assumed:
        return ""
    return " (assumed: " + ", ".join(a.replace("_", " ") for a in assumed) + ")"


def _markdown_recommendation(rec: dict[str, Any]) -> list[str]:
    kind = "Issue to address" if rec["kind"] == "issue-to-address" else "Recommendation"
    number, status = markdown_cell(rec["number"]), markdown_cell(rec["status_label"].upper())
    lines = [f"## {kind} {number}: **[{status}]**", ""]
    lines += [f"> {markdown_text(rec['text'])}", ""]
    owners = ", ".join(_person(o["staff_id"], o["name"]) for o in rec["owners"]) or "none"
    lines += [
        f"- Response: {markdown_cell(rec['response'] or 'none yet')}",
        f"- Owner(s): {owners}",
        f"- Due: {markdown_cell(rec['final_due'] or 'no date')}"
        f"{markdown_cell(assumed_note(rec['assumed']))}; "
        f"next due: {markdown_cell(rec['next_due'] or '-')}",
    ]
    if rec["periods"]["sentence"]:
        lines.append(f"- Recurring periods: {markdown_cell(rec['periods']['sentence'])}")
    if rec["integrity"]:
        lines += [
            f"- **Does not match the audit trail:** {markdown_cell(p['sentence'])}"
            for p in rec["integrity"]
        ]
    if rec["flags"]:
        lines.append(f"- Flags: {', '.join(markdown_cell(f) for f in rec['flag_labels'])}")
    rating = rec["rating"]
    if rating:
        notes = f" ({markdown_cell(rating['notes'])})" if rating["notes"] else ""
        lines.append(
            f"- Rating: {markdown_cell(rating['rating'])} by "
            f"{markdown_cell(rating['assessed_by'])} "
            f"on {markdown_cell(rating['assessed_date'])}{notes}"
        )
    else:
        lines.append("- Rating: not yet assessed")
    lines.append("")
    if rec["actions"]:
        lines += ["### Actions", "", "| Action | Response | Owner | Schedule | State | Done |"]
        lines.append("|---|---|---|---|---|---|")
        for a in rec["actions"]:
            state = a["state"] + (f" ({', '.join(a['flags'])})" if a["flags"] else "")
            if a["periods_sentence"]:
                state += f"; {a['periods_sentence']}"
            cells = (
                markdown_cell(a["text"]),
                markdown_cell(a["response"]),
                _person(a["owner"], a["owner_name"]),
                markdown_cell(a["schedule"] + assumed_note(a["assumed"])),
                markdown_cell(state),
                markdown_cell(a["completed_on"] or ""),
            )
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["### Evidence", ""]
    if rec["evidence"]:
        lines += ["| Date | Action | Recorded by | Evidence |", "|---|---|---|---|"]
        lines += [
            f"| {markdown_cell(e['recorded_date'])} | {markdown_cell(e['action_id'])} | "
            f"{markdown_cell(e['recorded_by'])} | {markdown_cell(e['evidence'])} |"
            for e in rec["evidence"]
        ]
    else:
        lines.append("None recorded.")
    lines += ["", "### Lapses", ""]
    recurring = {g["action_id"] for g in rec["period_history"]}
    if rec["lapses"]:
        lines += [
            f"- {markdown_code(lapse['obligation_id'])} due {markdown_cell(lapse['due'])}"
            for lapse in rec["lapses"]
            if lapse["action_id"] not in recurring
        ]
        # A recurring commitment's lapsed periods: counted here, listed under its periods.
        lines += [
            f"- {markdown_code(g['action_id'])}: {markdown_cell(g['sentence'])} "
            "(listed under its periods)"
            for g in rec["period_history"]
            if g["periods_lapsed"]
        ]
    else:
        lines.append("None.")
    lines += [
        "",
        "### Timeline",
        "",
        "In event order (the event's time, then the trail's).",
        "",
        "| # | Event time | Recorded | Who | What | Event |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {t['seq']} | {markdown_cell(t['happened'] or '')} | "
        f"{markdown_cell(t['recorded_at'])} | {markdown_cell(t['actor'])} | "
        f"{markdown_cell(t['summary'])} | {markdown_code(t['caused_by'], in_table=True)} |"
        for t in rec["timeline"]
    ]
    for group in rec["period_history"]:
        lines += [
            "",
            f"#### Periods of {markdown_code(group['action_id'])}: "
            f"{markdown_cell(group['sentence'] or 'no period ended yet')}",
            "",
            "| Period | Due | State | History |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {markdown_cell(p['period'])} | {markdown_cell(p['due'])} | "
            f"{markdown_cell(p['state'])} | {markdown_cell('; '.join(p['history']))} |"
            for p in group["periods"]
        ]
    lines.append("")
    return lines


def chain_sentence(chain: dict[str, Any]) -> str:
    if chain["ok"]:
        return f"verified: {chain['entries']} entries checked, head hash {chain['head']}"
    return (
        f"BROKEN at entry {chain['first_broken']} ({chain['reason']}); "
        f"{chain['entries']} entries verified before it"
    )


def html(report: dict[str, Any], *, stylesheet: str | None = None) -> str:
    """A document of its own, its style inline (a file to keep, print or send); `stylesheet`:
    link that instead, for a page served under a policy refusing inline style."""
    env = Environment(
        loader=PackageLoader("services.audit", "templates"),
        autoescape=True,  # every template is HTML: event data is escaped whatever its name
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = _long_date
    template = env.get_template("report.html.j2")
    return template.render(
        report=report, chain_sentence=chain_sentence(report["chain"]), stylesheet=stylesheet
    )


REPORT_CSS = "report.css"  # the report's style, inline in the document or linked by a page


def _long_date(value: str | None) -> str:
    """'2018-03-31' as '31 March 2018', for readers who do not write dates as ISO."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{day.day} {day:%B %Y}"


def _person(staff_id: str, name: str | None) -> str:
    """Markdown: a name and a staff id, both from event data."""
    if name:
        return f"{markdown_cell(name)} ({markdown_cell(staff_id)})"
    return markdown_cell(staff_id)
