"""`followup publish`: validate lines, publish the good ones, keep the bad ones as dead letters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from events import EventRejected, parse_event
from schemas.tables import DeadLetter
from services.platform.broker.streams import publish_entries
from services.platform.runtime import Runtime
from services.tracker import store
from services.tracker.dead_letters import get_dead_letters, list_dead_letters, set_status
from services.tracker.intake import storable

CHUNK = 1000


@dataclass(slots=True)
class PublishReport:
    published: int = 0
    rejected: list[DeadLetter] = field(default_factory=list)


def validate_lines(
    lines: Iterable[str], *, ratings: Sequence[str] | None = None
) -> Iterator[tuple[bytes | None, DeadLetter | None]]:
    """Each non-blank line becomes either a payload to publish or a dead letter naming why.
    `ratings`: the follow-up ratings accepted (settings.ratings; None, the contract's)."""
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            parse_event(text, ratings=ratings)
        except EventRejected as rejected:
            yield (
                None,
                DeadLetter(
                    origin="publish",
                    line=number,
                    field=rejected.field,
                    reason=rejected.reason,
                    raw=storable(text),
                ),
            )
            continue
        yield text.encode(), None


async def publish_lines(
    *,
    runtime: Runtime,
    redis: Redis,
    lines: Iterable[str],
    on_progress: Callable[[int], None] = lambda _: None,
) -> PublishReport:
    report = PublishReport()
    payloads: list[bytes] = []
    stream = runtime.settings.events_stream

    async def flush() -> None:
        await publish_entries(redis, stream=stream, payloads=payloads)
        report.published += len(payloads)
        on_progress(len(payloads))
        payloads.clear()

    for payload, dead in validate_lines(lines, ratings=runtime.settings.ratings):
        if dead is not None:
            report.rejected.append(dead)
            on_progress(1)
        elif payload is not None:
            payloads.append(payload)
            if len(payloads) >= CHUNK:
                await flush()
    if payloads:
        await flush()
    if report.rejected:
        async with runtime.sessions() as session, session.begin():
            await store.add_dead_letters(session=session, letters=report.rejected)
    return report


@dataclass(slots=True)
class ReplayReport:
    replayed: list[int] = field(default_factory=list)
    rejected: dict[int, str] = field(default_factory=dict)  # still invalid: the reason
    skipped: dict[int, str] = field(default_factory=dict)  # not in the store as dead


async def replay_dead_letters(
    *, runtime: Runtime, redis: Redis, ids: Sequence[int] | None
) -> ReplayReport:
    """Validate each dead letter again (after a fix) and publish the ones that now pass.

    Effects stay exactly-once: a replayed event that was in fact applied before, or is
    replayed twice, is a duplicate by (source, id) and changes nothing.
    """
    report = ReplayReport()
    async with runtime.sessions() as session:
        if ids is None:
            letters = await list_dead_letters(session=session, status="dead", limit=100_000)
        else:
            letters = await get_dead_letters(session=session, ids=ids)
    found = {letter.id for letter in letters}
    report.skipped.update({i: "no such dead letter" for i in ids or () if i not in found})
    payloads: list[bytes] = []
    for letter in letters:
        assert letter.id is not None
        if letter.status != "dead":
            report.skipped[letter.id] = f"already {letter.status}"
            continue
        try:
            parse_event(letter.raw, ratings=runtime.settings.ratings)
        except EventRejected as rejected:
            report.rejected[letter.id] = str(rejected)
            continue
        payloads.append(letter.raw.encode())
        report.replayed.append(letter.id)
    await publish_entries(redis, stream=runtime.settings.events_stream, payloads=payloads)
    async with runtime.sessions() as session, session.begin():
        await set_status(session=session, ids=report.replayed, status="replayed")
    return report
