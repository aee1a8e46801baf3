"""The summary as JSON: the same figures the Markdown and HTML pages show."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from services.summaries.model import Summary


def summary_json(summary: Summary) -> dict[str, Any]:
    scope = summary.scope
    return {
        "scope": {"kind": scope.kind, "id": scope.id},
        "area": scope.area,
        "unit": scope.unit,
        "manager": scope.manager,
        "week": str(summary.week),
        "week_starts": summary.week.monday.isoformat(),
        "week_ends": summary.week.sunday.isoformat(),
        "as_of": summary.as_of.isoformat(),
        # Added (docs/contract.md section 9, "The weekly call pack"): where the as-of date
        # came from, and what each section's counts count (also each section's `counted_by`).
        "as_of_from": summary.as_of_from,
        "counted_by": {s.kind + getattr(s, "by", ""): s.counted_by for s in summary.sections},
        "sections": [{"kind": s.kind, **_plain(s)} for s in summary.sections],
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
