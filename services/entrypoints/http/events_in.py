"""POST /events: `followup publish` over HTTP, for a system's publish token (docs/contract.md
section 12, "People's API"). CloudEvents' HTTP binding in structured mode (one event) or as a
JSON batch; each event validated exactly as publish validates a line, the valid ones put on the
inbound stream, the others kept as dead letters and named in the answer, event by event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from events.envelope import MAX_ID_LENGTH, MAX_SOURCE_LENGTH
from schemas.tables import DeadLetter
from services.entrypoints.http.auth import Publisher
from services.entrypoints.http.event_batch import BatchUnreadable, Element, single, split_batch
from services.entrypoints.http.models import EventResult, EventsAnswer
from services.platform.broker.streams import publish_entries
from services.platform.runtime import Runtime
from services.tracker.dead_letters import add_dead_letters
from services.tracker.intake import storable
from services.tracker.line_reader import PREFIX_BYTES, Line
from services.tracker.publishing import CHUNK, CHUNK_BYTES, validate_lines

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
SUPPORTED = (STRUCTURED, BATCH)
ORIGIN = "http"  # a dead letter's origin: rejected by POST /events

_BODY = {
    "required": True,
    "content": {
        STRUCTURED: {"schema": {"type": "object", "description": "one CloudEvent (section 1)"}},
        BATCH: {"schema": {"type": "array", "items": {"type": "object"}}},
    },
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    207: {"model": EventsAnswer, "description": "some accepted, some rejected (kept)"},
    400: {"description": "a batch that is not a JSON array (kept as one dead letter)"},
    413: {"description": "more events or bytes than one request may carry"},
    415: {"description": "not one of the content types supported"},
    422: {"model": EventsAnswer, "description": "every event rejected (each kept)"},
    503: {"description": "Redis or the database failed: send the request again"},
}


def add_event_routes(api: FastAPI, *, runtime: Runtime, redis: Redis) -> None:
    @api.post(
        "/events",
        status_code=202,
        response_model=EventsAnswer,
        responses=_ANSWERS,
        openapi_extra={"requestBody": _BODY},
    )
    async def receive(request: Request, caller: Publisher) -> JSONResponse:
        """Events in, as `followup publish` takes them: 202 when every one was accepted, 207
        when some were rejected, 422 when all were; each rejection names its field and is
        kept as a dead letter (origin `http`)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in SUPPORTED:
            raise HTTPException(
                status_code=415,
                detail=f"send {STRUCTURED} (one event) or {BATCH} (a JSON array of events); "
                "the binary mode (ce- headers) is not supported",
            )
        # FOLLOWUP_HTTP_MAX_BODY_BYTES bounds every request (docs/contract.md section 10); a
        # batch is also cut to what `publish` holds at once.
        body = await _read(request, limit=min(runtime.settings.http_max_body_bytes, CHUNK_BYTES))
        if not body.strip():
            raise HTTPException(status_code=400, detail="the body holds no event")
        if kind == STRUCTURED:
            elements = [single(body)]
        else:
            try:
                elements = split_batch(body)
            except BatchUnreadable as error:
                kept = await _keep([_unreadable(body, str(error))])
                raise HTTPException(
                    status_code=400, detail=f"{error}; kept as dead letter {kept[0].id}"
                ) from None
        most = min(runtime.settings.http_max_batch_items, CHUNK)
        if len(elements) > most:
            raise HTTPException(
                status_code=413,
                detail=f"a batch of {len(elements):,} events, over the limit of "
                f"{most:,} (FOLLOWUP_HTTP_MAX_BATCH_ITEMS): send it in smaller batches",
            )
        answer = await _accept(elements)
        status = 202 if not answer.rejected else 422 if not answer.accepted else 207
        return JSONResponse(answer.model_dump(), status_code=status)

    async def _accept(elements: Sequence[Element]) -> EventsAnswer:
        settings = runtime.settings
        limit = settings.max_event_bytes
        lines = [_line(i, e.raw, limit) for i, e in enumerate(elements)]
        payloads: list[bytes] = []
        dead: dict[int, DeadLetter] = {}
        for line, outcome in validate_lines(
            lines, max_bytes=limit, ratings=settings.ratings, what="event"
        ):
            if isinstance(outcome, DeadLetter):
                dead[line.number] = _ours(outcome, elements[line.number])
            else:
                payloads.append(outcome)
        try:  # published first, then the rejections kept, as `publish` does a chunk
            await publish_entries(redis, stream=settings.events_stream, payloads=payloads)
        except Exception as error:
            raise _unavailable("Redis failed; nothing was accepted", error) from error
        await _keep(list(dead.values()))
        results = [_result(i, e, dead.get(i)) for i, e in enumerate(elements)]
        return EventsAnswer(accepted=len(payloads), rejected=len(dead), results=results)

    async def _keep(letters: list[DeadLetter]) -> list[DeadLetter]:
        if not letters:
            return letters
        try:
            async with runtime.sessions() as session, session.begin():
                await add_dead_letters(session=session, letters=letters, now=runtime.now())
        except Exception as error:
            raise _unavailable(
                "the database failed keeping the rejected events; the accepted ones were "
                "published, so sending the request again changes nothing for them",
                error,
            ) from error
        return letters


async def _read(request: Request, *, limit: int) -> bytes:
    """The body, refused once it is over `limit` bytes rather than held whole."""
    too_big = HTTPException(status_code=413, detail=f"the body is over {limit:,} bytes")
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _line(index: int, raw: bytes, limit: int) -> Line:
    """An event as `validate_lines` reads a line; over the limit, only its prefix is kept."""
    return Line(index, raw if len(raw) <= limit else raw[: min(limit, PREFIX_BYTES)], len(raw))


def _ours(letter: DeadLetter, element: Element) -> DeadLetter:
    letter.origin, letter.line = ORIGIN, None
    letter.event_source = _named(element.source, MAX_SOURCE_LENGTH)
    letter.event_id = _named(element.id, MAX_ID_LENGTH)
    return letter


def _unreadable(body: bytes, reason: str) -> DeadLetter:
    return DeadLetter(origin=ORIGIN, reason=reason, raw=storable(body[:PREFIX_BYTES]))


def _named(value: str | None, limit: int) -> str | None:
    """An event's own `source` or `id` as stored and answered: only one the contract could
    accept (the dead letters' index holds them; text every database keeps)."""
    if value is None or len(value) > limit or storable(value) != value:
        return None
    return value


def _result(index: int, element: Element, letter: DeadLetter | None) -> EventResult:
    source, event_id = _named(element.source, MAX_SOURCE_LENGTH), _named(element.id, MAX_ID_LENGTH)
    if letter is None:
        return EventResult(index=index, id=event_id, source=source, status="accepted")
    return EventResult(
        index=index,
        id=event_id,
        source=source,
        status="rejected",
        field=letter.field,
        error=letter.reason,
        dead_letter_id=letter.id,
    )


def _unavailable(what: str, error: Exception) -> HTTPException:
    return HTTPException(status_code=503, detail=f"{what} ({type(error).__name__}); try again")
