"""The summary as JSON: the same figures the Markdown and HTML pages show."""

from __future__ import annotations

import dataclasses
from datetime import date
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
        "sections": [{"kind": s.kind, **_plain(s)} for s in summary.sections],
    }


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value
