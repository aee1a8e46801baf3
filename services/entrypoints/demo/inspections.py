"""The seed inspections (data/inspections) for `followup demo`: their events, and the status
of their recommendations as of the demo's date."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.recommendation_status import STATUSES
from services.audit.status_queries import recommendation_statuses

SEEDS = Path(__file__).resolve().parents[2] / "data" / "inspections"


def seed_lines(folder: Path = SEEDS) -> list[str]:
    """Every event line of every seed file, in file order."""
    return [
        line
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]


def seed_inspection_ids(lines: list[str]) -> list[str]:
    found = (json.loads(line) for line in lines)
    return [e["data"]["inspection_id"] for e in found if e["type"] == "inspection-published"]


async def inspection_statuses(
    *, session: AsyncSession, inspection_ids: list[str], as_of: date
) -> dict[str, dict[str, int]]:
    """inspection id -> status -> how many of its recommendations, every status present."""
    rows = await recommendation_statuses(session=session, area=None, today=as_of)
    counts: dict[str, dict[str, int]] = {i: dict.fromkeys(STATUSES, 0) for i in inspection_ids}
    for (inspection, status), n in Counter(
        (r.inspection_id, r.status) for r in rows if r.inspection_id in counts
    ).items():
        counts[inspection][status] = n
    return counts


def inspections_table(counts: dict[str, dict[str, int]]) -> Table:
    table = Table(
        "inspection",
        *(s.replace("completed-awaiting-verification", "awaiting\nverification") for s in STATUSES),
        title="Inspection recommendations by status",
        box=None,
        pad_edge=False,
        header_style="bold underline",
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for inspection, by_status in counts.items():
        table.add_row(inspection, *(str(by_status[s]) for s in STATUSES))
    return table


def render_inspections(console: Console, counts: dict[str, dict[str, int]], as_of: date) -> None:
    console.print()
    console.print(inspections_table(counts))
    example = max(counts, key=lambda i: sum(counts[i].values()), default="HMCPSI-AAP-TC-2017")
    console.print(
        f"Per recommendation: followup audit report --inspection {example} "
        f"--format html --as-of {as_of} -o report.html",
        highlight=False,
        soft_wrap=True,
    )
