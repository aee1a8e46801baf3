"""`followup replay --from DATE`: the engine's derived state rebuilt from the recorded events,
after a rule-pack change, or compared with the database (`--check`) (docs/contract.md section 6,
"Added: replay").

Every event in `events_received` is applied, in memory, to an empty ledger under the active
rule pack, as if it had just arrived (arrival order does not change the end state). A track is
in scope when it holds an event whose `time` is on or after DATE (London midnight), or belongs
to a case such an event names; its rebuilt obligations are compared with the stored ones, and
(without --check) the differences written as the tracker writes a batch's: the tracks, the
obligations, their history (`obligation_changes`) and one audit entry per change through
`append_audit`, caused by `replay:DATE`. The audit trail is appended to, never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from services.alerts.clock.schedule import midnight
from services.rules.engine import diff
from services.rules.ledger import Ledger, TrackKey, TrackState
from services.rules.model import Change, Fact
from services.rules.reallocation import EVENT as REALLOCATED
from services.tracker import cache, locks, replay_store, store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from services.platform.runtime import Runtime

Progress = Callable[[int, int], None]  # events applied now, of how many


@dataclass(slots=True)
class ReplayReport:
    since: date
    events: int = 0  # read from events_received
    in_scope: int = 0  # tracks compared
    differences: int = 0  # obligation changes found (written, without --check)
    tracks_differing: int = 0  # tracks whose facts, link or obligations differ
    described: list[str] = field(default_factory=list)  # one line per difference


@dataclass(slots=True)
class _Rebuilt:
    ledger: Ledger
    recent_urns: set[str]
    recent: list[Fact]


async def replay_events(
    *,
    runtime: Runtime,
    since: date,
    check: bool,
    on_progress: Progress = lambda _n, _total: None,
) -> ReplayReport:
    report = ReplayReport(since=since)
    rebuilt = await _rebuild(runtime, since, report, on_progress)
    keys = _in_scope(rebuilt, since)
    async with runtime.sessions() as session:
        if check:  # read, compared, and the session closed without a write
            stored = await store.load_tracks(session=session, keys=keys, urns=rebuilt.recent_urns)
            _compare(rebuilt.ledger, keys, stored, since, report)
            return report
        async with session.begin():
            names = {f"t:{rule}:{key}" for rule, key in keys}
            await locks.lock(session, names | {f"u:{urn}" for urn in rebuilt.recent_urns})
            stored = await store.load_tracks(session=session, keys=keys, urns=rebuilt.recent_urns)
            tracks, changes = _compare(rebuilt.ledger, keys, stored, since, report)
            await _write(session, runtime, rebuilt, tracks, changes, since)
        cache.committed(session)
    return report


async def _rebuild(
    runtime: Runtime, since: date, report: ReplayReport, on_progress: Progress
) -> _Rebuilt:
    ledger = Ledger(runtime.rules, runtime.calendar)
    start, today = midnight(since), runtime.today()
    recent: list[Fact] = []
    async with runtime.sessions() as session:
        total = await replay_store.count_recorded(session=session)
        on_progress(0, total)
        async for page in replay_store.recorded_facts(session=session):
            ledger.apply(page, today=today)
            recent += [f for f in page if f.time >= start]
            report.events += len(page)
            on_progress(len(page), total)
    urns = {u for f in recent if isinstance(u := f.data.get("urn"), str)}
    return _Rebuilt(ledger, urns, recent)


def _in_scope(rebuilt: _Rebuilt, since: date) -> set[TrackKey]:
    start = midnight(since)
    ledger = rebuilt.ledger
    recent_links = {k for k, facts in ledger.linked.items() if any(f.time >= start for f in facts)}
    return {
        key
        for key, track in ledger.tracks.items()
        if track.urn in rebuilt.recent_urns
        or (track.rule, track.link) in recent_links
        or any(f.time >= start for f in track.facts)
    }


def _compare(
    ledger: Ledger,
    keys: set[TrackKey],
    stored: Sequence[TrackState],
    since: date,
    report: ReplayReport,
) -> tuple[list[TrackState], list[Change]]:
    """The rebuilt tracks that differ from the stored ones, and the obligation changes that
    take the stored obligations to the rebuilt. A track of a rule no longer in the pack is
    left as it is (its obligations stay, as the tracker leaves them)."""
    before = {(t.rule, t.key): t for t in stored}
    rules = {rule.id for rule in ledger.rules}
    cause = (f"replay:{since.isoformat()}",)
    tracks: list[TrackState] = []
    changes: list[Change] = []
    for key in sorted(keys | before.keys()):
        if key[0] not in rules:
            continue
        report.in_scope += 1
        old = before.get(key) or TrackState(key[0], key[1])
        new = ledger.tracks.get(key) or TrackState(key[0], key[1], old.urn)
        found = [
            Change(c.kind, c.obligation_id, c.before, c.after, cause)
            for c in diff(old.obligations, list(new.obligations.values()))
        ]
        same_facts = {(f.source, f.id) for f in old.facts} == {(f.source, f.id) for f in new.facts}
        if found or not same_facts or (old.link, old.urn) != (new.link, new.urn):
            report.tracks_differing += 1
            tracks.append(new)
            if not same_facts:
                report.described.append(
                    f"track {key[0]}/{key[1]}: {len(old.facts)} facts stored, "
                    f"{len(new.facts)} rebuilt"
                )
        for change in found:
            report.described.append(_describe(change))
        changes += found
    report.differences = len(changes)
    return tracks, changes


def _describe(change: Change) -> str:
    before, after = change.before, change.after
    was = f"due {before.due}, {before.state}" if before else "none"
    now = f"due {after.due}, {after.state}" if after else "none"
    return f"{change.obligation_id}: {change.kind}: stored {was}; rebuilt {now}"


async def _write(
    session: AsyncSession,
    runtime: Runtime,
    rebuilt: _Rebuilt,
    tracks: list[TrackState],
    changes: list[Change],
    since: date,
) -> None:
    """As the tracker saves a batch (store.save_state), the audit entries last."""
    now, ledger = runtime.now(), rebuilt.ledger
    start = midnight(since)
    recent = rebuilt.recent
    await store.upsert_staff(
        session=session, facts=[f for f in recent if f.type == "staff-updated"], now=now
    )
    await store.upsert_cases(
        session=session, facts=[f for f in recent if f.type == "case-registered"], now=now
    )
    moved = {f.data["urn"] for f in recent if f.type == REALLOCATED}
    await store.save_state(
        session=session,
        tracks=tracks,
        linked={k: v for k, v in ledger.linked.items() if any(f.time >= start for f in v)},
        reallocations={u: ledger.reallocations[u] for u in moved if u in ledger.reallocations},
        changes=changes,
        now=now,
    )
