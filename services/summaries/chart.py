"""On-time rate per rule over the trend's 13 weeks, as a PNG (matplotlib, Agg, no pyplot)."""

from __future__ import annotations

import io
import math

from services.summaries.model import Timeliness


def on_time_chart(section: Timeliness) -> bytes:
    # Imported here: matplotlib costs most of a second to import, and only pages with a
    # chart (HTML, email) need it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4), dpi=100)
    # Fixed margins: tight_layout would measure every text and cost more than drawing.
    figure.subplots_adjust(left=0.07, right=0.72, top=0.9, bottom=0.1)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [week.split("-")[1] for week in section.weeks]
    positions = list(range(len(labels)))
    for row in section.rules:
        rates = [math.nan if p.on_time_pct is None else p.on_time_pct for p in row.trend]
        axes.plot(positions, rates, marker="o", markersize=3, linewidth=1.2, label=row.rule)
    overall = [math.nan if p.on_time_pct is None else p.on_time_pct for p in section.all.trend]
    axes.plot(positions, overall, color="black", marker="s", linewidth=2.5, label="all rules")
    axes.set_xticks(positions, labels)
    axes.set_ylim(0, 105)
    axes.set_ylabel("on time (%)")
    axes.set_title(f"On-time rate per rule, 13 weeks to {section.week}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
