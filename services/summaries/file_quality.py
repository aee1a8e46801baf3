"""Police file quality and Disclosure Record Sheet measures, as pure functions of what was read
(docs/contract.md section 9, "Added: police file quality and disclosure"). No I/O, no clock.

- Per force and per Area: the share of police files meeting the National File Standard, the
  failings by kind, and the feedback obligations (`file-quality-feedback`) met, late, lapsed
  or open. A file counts once, by its latest assessment (by `time`, ties by source and id), so
  the figures do not depend on arrival order or duplicates.
- Per team (the owner's legal manager, section 9): the share of `disclosure-record`
  obligations recorded on time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from events.police_files import FAILINGS
from services.summaries.packs.model import (
    DISCLOSURE,
    FILE_FEEDBACK,
    DisclosureRecords,
    FileQuality,
    FileRow,
    Item,
    _team_label,
    counts_of,
    in_period,
    rows_by,
    total_row,
)
from services.summaries.packs.periods import PackPeriod


@dataclass(frozen=True, slots=True)
class Assessment:
    """One `file-quality-assessed` event as the measures read it; `area` is the event's, else
    its case's (resolved by the reader)."""

    source: str
    id: str
    time: datetime
    file_id: str
    urn: str
    force: str
    stage: str
    standard_met: bool
    failings: tuple[str, ...]
    assessed_date: date
    area: str | None

    @classmethod
    def of(
        cls, *, source: str, id: str, time: datetime, data: Mapping[str, Any], area: str | None
    ) -> Assessment:
        """From an event's wire data (dates as 'YYYY-MM-DD')."""
        return cls(
            source=source,
            id=id,
            time=time,
            file_id=str(data["file_id"]),
            urn=str(data["urn"]),
            force=str(data["force"]),
            stage=str(data["stage"]),
            standard_met=bool(data["standard_met"]),
            failings=tuple(str(f) for f in data.get("failings") or ()),
            assessed_date=date.fromisoformat(str(data["assessed_date"])),
            area=data.get("area") or area,
        )


def latest_per_file(assessments: Iterable[Assessment]) -> list[Assessment]:
    """Each file's latest assessment (by time, ties by source and id), in file id order."""
    latest: dict[str, Assessment] = {}
    for a in assessments:
        known = latest.get(a.file_id)
        if known is None or (a.time, a.source, a.id) > (known.time, known.source, known.id):
            latest[a.file_id] = a
    return [latest[k] for k in sorted(latest)]


def failings_by_kind(files: Iterable[Assessment]) -> dict[str, int]:
    """How many files name each failing, every kind of the vocabulary in its order."""
    found = dict.fromkeys(FAILINGS, 0)
    for a in files:
        for kind in set(a.failings):
            found[kind] = found.get(kind, 0) + 1
    return found


def file_row(
    key: str | None,
    label: str,
    files: Sequence[Assessment],
    feedback: Iterable[Item],
    as_of: date,
) -> FileRow:
    met = sum(1 for a in files if a.standard_met)
    return FileRow(
        key=key,
        label=label,
        files=len(files),
        met_standard=met,
        share_met_pct=round(100 * met / len(files), 1) if files else None,
        failings=failings_by_kind(files),
        feedback=counts_of(feedback, as_of),
    )


def file_rows(
    assessments: Iterable[Assessment],
    feedback: Sequence[Item],
    *,
    by: Callable[[Assessment], str | None],
    as_of: date,
    known: Mapping[str, str] | None = None,
    unknown: str = "not known",
) -> list[FileRow]:
    """One row per value of `by` (force or Area), sorted, then one for files or feedback whose
    value is not known. Each file counts once, by its latest assessment. `feedback` are
    `file-quality-feedback` obligations (key: the file id); each goes to its file's row, by
    the file's latest assessment among `assessments`, else by `known` (file id to value, for
    a file assessed outside the period)."""
    files = latest_per_file(assessments)
    value = {**(known or {}), **{a.file_id: v for a in files if (v := by(a)) is not None}}
    keys: list[str | None] = [
        *sorted(
            {v for a in files if (v := by(a)) is not None}
            | {v for i in feedback if (v := value.get(i.key)) is not None}
        )
    ]
    if any(by(a) is None for a in files) or any(i.key not in value for i in feedback):
        keys.append(None)
    return [
        file_row(
            k,
            k if k is not None else unknown,
            [a for a in files if by(a) == k],
            [i for i in feedback if value.get(i.key) == k],
            as_of,
        )
        for k in keys
    ]


def by_force(a: Assessment) -> str | None:
    return a.force


def by_area(a: Assessment) -> str | None:
    return a.area


def file_quality(
    assessments: Iterable[Assessment],
    items: Sequence[Item],
    *,
    period: PackPeriod,
    as_of: date,
    forces: Mapping[str, str] | None = None,
) -> FileQuality:
    """The pack section of one Area: the files assessed in the period (by the `assessed_date`
    of each file's latest assessment) per force and in all, with the feedback obligations due
    in the period (`forces`: file id to force for files assessed before the period)."""
    files = [
        a for a in latest_per_file(assessments) if period.start <= a.assessed_date <= period.end
    ]
    feedback = in_period(items, period, FILE_FEEDBACK)
    rows = file_rows(
        files, feedback, by=by_force, as_of=as_of, known=forces, unknown="force not known"
    )
    total = file_row("all", "Area", files, feedback, as_of)
    return FileQuality(by_force=rows, total=total)


def disclosure_records(
    items: Sequence[Item], *, period: PackPeriod, as_of: date, teams: Mapping[str, str]
) -> DisclosureRecords:
    """Disclosure decisions recorded on time per team (the owner's legal manager), the
    period against the previous one."""
    current = in_period(items, period, DISCLOSURE)
    previous = in_period(items, period.previous(), DISCLOSURE)
    return DisclosureRecords(
        by_team=rows_by(
            current, previous, key=lambda i: i.team, label=_team_label(teams), as_of=as_of
        ),
        total=total_row(current, previous, as_of),
    )
