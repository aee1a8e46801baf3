"""Redis Streams plumbing shared by the publisher, the consumers and `status`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

# Each stream entry carries one CloudEvent as JSON under this field.
ENTRY_FIELD = b"event"


async def ensure_group(redis: Redis, *, stream: str, group: str) -> None:
    """Create the group at the start of the stream, so events published before any consumer
    ever ran are still read (a group FastStream creates itself starts at `$` and skips them)."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


async def publish_entries(
    redis: Redis, *, stream: str, payloads: Iterable[bytes], chunk: int = 1000
) -> list[str]:
    """XADD every payload in pipelined chunks; returns the entry ids in order."""
    ids: list[str] = []
    batch: list[bytes] = []

    async def flush() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for payload in batch:
                pipe.xadd(stream, {ENTRY_FIELD: payload})
            ids.extend(_text(i) for i in await pipe.execute())
        batch.clear()

    for payload in payloads:
        batch.append(payload)
        if len(batch) >= chunk:
            await flush()
    if batch:
        await flush()
    return ids


async def group_lag(redis: Redis, *, stream: str, group: str) -> dict[str, int]:
    """Entries not yet delivered to the group plus entries delivered but not acknowledged."""
    try:
        groups: list[dict[str, Any]] = await redis.xinfo_groups(stream)
    except ResponseError:
        return {"undelivered": 0, "pending": 0}
    info = next((g for g in groups if _text(g["name"] or b"") == group), None)
    if info is None:
        undelivered = int(await redis.xlen(stream))
        return {"undelivered": undelivered, "pending": 0}
    pending = int(info["pending"])
    lag = info.get("lag")
    if lag is None:  # Redis < 7 (the embedded server is 6.2) has no lag counter: count.
        lag = await _count_after(redis, stream, _text(info["last-delivered-id"]))
    return {"undelivered": int(lag), "pending": pending}


async def _count_after(redis: Redis, stream: str, last_id: str) -> int:
    count, start = 0, f"({last_id}"
    while True:
        entries = await redis.xrange(stream, min=start, max="+", count=5000)
        if not entries:
            return count
        count += len(entries)
        start = f"({_text(entries[-1][0] or b'')}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def oldest_pending_age_ms(redis: Redis, *, stream: str, group: str, now_ms: int) -> int:
    """How long ago the oldest unacknowledged entry was published (its id holds the time)."""
    try:
        summary = await redis.xpending(stream, group)
    except ResponseError:
        return 0
    oldest = summary.get("min")
    if not summary.get("pending") or not oldest:
        return 0
    return max(0, now_ms - int(_text(oldest).split("-", 1)[0]))


async def forget_idle_consumers(redis: Redis, *, stream: str, group: str, idle_ms: int) -> int:
    """Delete consumers (workers long gone) that hold nothing and have been idle `idle_ms`."""
    try:
        consumers = await redis.xinfo_consumers(stream, group)
    except ResponseError:
        return 0
    gone = [
        _text(c["name"])
        for c in consumers
        if int(c["pending"]) == 0 and int(c.get("inactive", c["idle"])) > idle_ms
    ]
    for name in gone:
        await redis.xgroup_delconsumer(stream, group, name)
    return len(gone)
