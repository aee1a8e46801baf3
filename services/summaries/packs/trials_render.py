"""The trials section (services/summaries/trials.py) in Markdown, CSV rows and HTML, for the
packs and the Area page (docs/contract.md section 9, "Added: trials not proceeding")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.summaries.render_md import pct, table
from services.summaries.trials import TrialsSection

HEADERS = (
    "court",
    "trials",
    "cracked (prosecution)",
    "ineffective (prosecution)",
    "rate",
    "national measured",
    "national figure",
    "points",
    "against national",
)


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def trials_markdown(section: TrialsSection) -> list[str]:
    out = [f"## Trials not proceeding on the day for prosecution reasons, {section.period}", ""]
    out += [
        "Trials with an outcome dated in the period: those that cracked or were ineffective for"
        " reasons attributable to the prosecution, over all. Against: the national figure set,"
        " else the rate over every Area Followup holds (measured). Positive points are worse.",
        "",
    ]
    out += table(
        HEADERS,
        (
            [
                line.court_type,
                line.area.trials,
                line.area.cracked,
                line.area.ineffective,
                pct(line.area.pct),
                pct(line.national_measured.pct),
                pct(line.national_figure) if line.national_figure is not None else "not set",
                _points(line.gap_pp),
                line.verdict,
            ]
            for line in section.lines
        ),
    )
    labels = [label for label, _ in section.lines[0].trend] if section.lines else []
    out += ["", "### Trend: the Area's rate (trials)", ""]
    out += table(
        ("court", *labels),
        (
            [line.court_type, *(f"{pct(r.pct)} ({r.trials})" for _, r in line.trend)]
            for line in section.lines
        ),
    )
    return [*out, ""]


def trials_csv(section: TrialsSection) -> Iterator[dict[str, Any]]:
    """Long-form lines: table `trials` (count: trials with an outcome) and `prosecution`
    (count: those not proceeding for prosecution reasons), group the court type, for each
    period of the trend; `national-trials` and `national-prosecution` for the period."""
    for line in section.lines:
        for label, r in line.trend:
            yield _line("trials", line.court_type, label, r.trials)
            yield _line("prosecution", line.court_type, label, r.prosecution)
        national = line.national_measured
        yield _line("national-trials", line.court_type, section.period, national.trials)
        yield _line("national-prosecution", line.court_type, section.period, national.prosecution)


def _line(table_name: str, group: str, period: str, count: int) -> dict[str, Any]:
    blank = dict.fromkeys(("due", "met", "late", "lapsed", "open", "on_time_pct"), "")
    return {
        "section": "trials",
        "table": table_name,
        "group": group,
        "period": period,
        **blank,
        "count": count,
    }
