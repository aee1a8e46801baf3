"""The summary as one self-contained, print-friendly HTML page (jinja2), chart embedded."""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.summaries.chart import on_time_chart
from services.summaries.model import Summary, Timeliness
from services.summaries.render_md import AS_OF_FROM, moment_text, pct

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template is HTML: event data is escaped whatever its name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = pct
    environment.filters["moment"] = moment_text
    environment.filters["who"] = lambda staff_id, name: (
        "no owner" if staff_id is None else f"{name} ({staff_id})" if name else staff_id
    )
    return environment


def summary_html(summary: Summary, *, chart: bytes | None = None) -> str:
    """`chart`: the PNG to embed; computed from the timeliness section when not given."""
    return _render("summary.html", summary, chart)


def summary_sections_html(summary: Summary, *, chart: bytes | None = None) -> str:
    """The sections alone, for a page of the service's own (its heading, stylesheet and
    menu): no document, no inline style; the chart stays a `data:` image."""
    return _render("sections.html", summary, chart)


def _render(template: str, summary: Summary, chart: bytes | None) -> str:
    timeliness = summary.section("timeliness")
    if chart is None and isinstance(timeliness, Timeliness):
        chart = on_time_chart(timeliness)
    return (
        _environment()
        .get_template(template)
        .render(
            summary=summary,
            as_of_from=AS_OF_FROM.get(summary.as_of_from, summary.as_of_from),
            chart=base64.b64encode(chart).decode() if chart else None,
        )
    )
