"""The packs' charts as PNG (matplotlib, Agg, no pyplot): on-time rates as grouped bars."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

from services.summaries.packs.model import Compliance, Pack, VictimLetters


def bars(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4), dpi=100)
    figure.subplots_adjust(left=0.07, right=0.78, top=0.9, bottom=0.22)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(series))
    for n, (name, values) in enumerate(series.items()):
        positions = [p + n * width for p in range(len(labels))]
        heights = [math.nan if v is None else v for v in values]
        axes.bar(positions, heights, width=width, label=name)
    middle = (len(series) - 1) * width / 2
    axes.set_xticks(
        [p + middle for p in range(len(labels))],
        [_short(x) for x in labels],
        rotation=20,
        ha="right",
        fontsize="small",
    )
    axes.set_ylim(0, 105)
    axes.set_ylabel("on time (%)")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _short(label: str, limit: int = 24) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def pack_chart(pack: Pack) -> bytes:
    """Monthly: the victim letters' on-time rate per team, this month and the previous one.
    Quarterly: each measure's on-time rate per unit, this quarter and the previous one."""
    letters = pack.section("victim-letters")
    if isinstance(letters, VictimLetters):
        rows = [*letters.by_team, letters.total]
        return bars(
            f"Victim letters on time per team, {pack.period} and {pack.previous}",
            [r.label for r in rows],
            {
                str(pack.period): [r.current.on_time_pct for r in rows],
                str(pack.previous): [r.previous.on_time_pct for r in rows],
            },
        )
    found = [s for s in pack.sections if isinstance(s, Compliance)]
    labels = [*sorted({t.label for s in found for t in s.units}), "Area"]
    series: dict[str, list[float | None]] = {}
    for section in found:
        trends = {t.label: t for t in section.units} | {"Area": section.area}
        for name, pick in ((str(pack.period), "quarter"), (str(pack.previous), "previous")):
            series[f"{section.measure} {name}"] = [
                getattr(trends[x], pick).on_time_pct if x in trends else None for x in labels
            ]
    return bars(f"On time per unit, {pack.period} and {pack.previous}", labels, series)
