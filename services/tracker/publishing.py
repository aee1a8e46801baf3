"""`followup publish`: validate lines, publish the good ones, keep the bad ones as dead letters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from redis.asyncio import Redis

from events import EventRejected, parse_event
from schemas.tables import DeadLetter
from services.platform.broker.streams import publish_entries
from services.platform.runtime import Runtime
from services.platform.settings import Settings
from services.tracker.dead_letters import add_dead_letters, get_dead_letters
from services.tracker.intake import storable
from services.tracker.line_reader import Line, numbered, over_limit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# A chunk is published, then its rejected lines stored, then the next one read: at most this
# many lines, or bytes, are held at a time.
CHUNK = 1000
CHUNK_BYTES = 8 << 20
SAMPLE = 100  # rejected lines a report keeps to print; the rest are only counted


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    field: str | None
    reason: str


@dataclass(slots=True)
class PublishReport:
    published: int = 0
    rejected: list[Rejection] = field(default_factory=list)  # the first SAMPLE of them
    rejected_lines: int = 0  # all of them, each kept as a dead letter
    through: int = 0  # the last line whose outcome is kept (published or stored)


class PublishStopped(Exception):
    """The input was not read to its end (Redis or the database failed): every line before
    `resume_from` is published or kept, none from it on."""

    def __init__(self, why: str, *, resume_from: int, report: PublishReport) -> None:
        super().__init__(why)
        self.why = why
        self.resume_from = resume_from
        self.report = report


class DeadLetterDatabase(Protocol):
    """Where rejected lines are kept; `sessions()` may connect, and migrate, on first call."""

    @property
    def name(self) -> str: ...

    def now(self) -> datetime: ...

    async def sessions(self) -> async_sessionmaker[AsyncSession]: ...


def validate_lines(
    lines: Iterable[Line],
    *,
    max_bytes: int,
    ratings: Sequence[str] | None = None,
    what: str = "line",
) -> Iterator[tuple[Line, bytes | DeadLetter]]:
    """Each non-blank line with the payload to publish or the dead letter naming why not.
    `ratings`: the follow-up ratings accepted (settings.ratings; None, the contract's);
    `what`: a line is called so in a refusal of its size (POST /events says "event")."""
    for line in lines:
        if line.over(max_bytes):
            yield line, _dead(line, None, over_limit(what, line.size, max_bytes))
            continue
        text = line.text.strip()
        if not text:
            continue
        try:
            parse_event(text, ratings=ratings)  # bytes: invalid UTF-8 is named here
        except EventRejected as rejected:
            yield line, _dead(line, rejected.field, rejected.reason)
            continue
        yield line, text


def _dead(line: Line, field: str | None, reason: str) -> DeadLetter:
    return DeadLetter(
        origin="publish", line=line.number, field=field, reason=reason, raw=storable(line.text)
    )


@dataclass(slots=True)
class _Chunk:
    payloads: list[bytes] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    size: int = 0
    last: int = 0

    def full(self) -> bool:
        return len(self.payloads) + len(self.dead) >= CHUNK or self.size >= CHUNK_BYTES


async def publish_input(
    *,
    settings: Settings,
    redis: Redis,
    lines: Iterable[Line],
    database: DeadLetterDatabase,
    from_line: int = 1,
    on_progress: Callable[[int], None] = lambda _: None,
) -> PublishReport:
    """Publish the valid lines and keep the rejected ones as dead letters, a chunk at a time:
    its valid lines published first, then its rejected lines stored. A failure of either
    raises PublishStopped naming the chunk's first line: resuming there publishes some valid
    lines again (harmless: (source, id) is the idempotency key) and stores each rejected line
    once, as none of the chunk's was stored. `database` is connected only for a rejected line.
    """
    report = PublishReport(through=from_line - 1)
    chunk = _Chunk()
    for line, outcome in validate_lines(
        lines, max_bytes=settings.max_event_bytes, ratings=settings.ratings
    ):
        if isinstance(outcome, DeadLetter):
            chunk.dead.append(outcome)
            chunk.size += len(outcome.raw)
        else:
            chunk.payloads.append(outcome)
            chunk.size += len(outcome)
        chunk.last = line.number
        if chunk.full():
            await _flush(chunk, settings=settings, redis=redis, database=database, report=report)
            on_progress(chunk.last - report.through)
            report.through, chunk = chunk.last, _Chunk()
    if chunk.last:
        await _flush(chunk, settings=settings, redis=redis, database=database, report=report)
        on_progress(chunk.last - report.through)
        report.through = chunk.last
    return report


async def _flush(
    chunk: _Chunk,
    *,
    settings: Settings,
    redis: Redis,
    database: DeadLetterDatabase,
    report: PublishReport,
) -> None:
    def stop(why: str) -> PublishStopped:
        return PublishStopped(why, resume_from=report.through + 1, report=report)

    try:
        await publish_entries(redis, stream=settings.events_stream, payloads=chunk.payloads)
    except Exception as error:
        raise stop(f"Redis failed while publishing ({_said(error)})") from error
    if chunk.dead:
        await _keep(chunk, database=database, stop=stop)
    report.published += len(chunk.payloads)
    report.rejected_lines += len(chunk.dead)
    room = SAMPLE - len(report.rejected)
    report.rejected += [Rejection(d.line or 0, d.field, d.reason) for d in chunk.dead[:room]]


async def _keep(
    chunk: _Chunk, *, database: DeadLetterDatabase, stop: Callable[[str], PublishStopped]
) -> None:
    try:
        sessions = await database.sessions()
    except Exception as error:
        raise stop(
            f"line {chunk.dead[0].line} was rejected and must be kept as a dead letter, but "
            f"the database ({database.name}) cannot be reached ({_said(error)})"
        ) from error
    committing = False
    try:
        async with sessions() as session:
            await add_dead_letters(session=session, letters=chunk.dead, now=database.now())
            ids = [letter.id for letter in chunk.dead if letter.id is not None]
            committing = True
            await session.commit()
    except Exception as error:
        if not committing:
            raise stop(f"the database failed storing rejected lines ({_said(error)})") from error
        # The commit's outcome is unknown: it may have been applied before the connection
        # went. Stored, the chunk is done; not stored, it is read again on resuming.
        if (stored := await _stored(sessions, ids)) is True:
            return
        why = f"the database failed committing rejected lines ({_said(error)})"
        if stored is None and ids:
            why += (
                f"; if `followup dead-letters show {ids[0]}` finds dead letter {ids[0]} "
                f"(line {chunk.dead[0].line}), they were stored: resume from line "
                f"{chunk.last + 1} instead"
            )
        raise stop(why) from error


async def _stored(sessions: async_sessionmaker[AsyncSession], ids: Sequence[int]) -> bool | None:
    """Whether the dead letters `ids`, committed together, were stored; None if the
    database cannot say."""
    if not ids:
        return None
    try:
        async with sessions() as session:
            found = await get_dead_letters(session=session, ids=ids[:1])
    except Exception:
        return None
    return bool(found)


def _said(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


class _Opened:
    """A runtime's database, already connected and migrated."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def name(self) -> str:
        return self._runtime.engine.url.render_as_string(hide_password=True)

    def now(self) -> datetime:
        return self._runtime.now()

    async def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._runtime.sessions


async def publish_lines(
    *,
    runtime: Runtime,
    redis: Redis,
    lines: Iterable[str | bytes],
    on_progress: Callable[[int], None] = lambda _: None,
) -> PublishReport:
    """`publish_input` for lines already in memory, with a runtime's database (the demo,
    tests): rejected lines are counted, and the first SAMPLE of them reported."""
    return await publish_input(
        settings=runtime.settings,
        redis=redis,
        lines=numbered(lines),
        database=_Opened(runtime),
        on_progress=on_progress,
    )
