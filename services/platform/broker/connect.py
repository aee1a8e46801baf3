"""Redis clients and the broker from FOLLOWUP_REDIS_URL: what redis-py reads (redis://,
rediss://, unix://), or a redis+sentinel:// URL naming the sentinels and the master they
watch (services.platform.broker.sentinel_url). Through Sentinel the master is asked of the
sentinels on every new connection, so after a failover the clients and the broker reconnect to
the new master by themselves.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.sentinel
from faststream.redis import RedisBroker, RedisSentinelBroker
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from services.platform.broker.sentinel_url import sentinel_target


def redis_client(url: str, **options: Any) -> Redis:
    """An asyncio client of the server the URL names (connecting lazily, on first use)."""
    target = sentinel_target(url)
    if target is None:
        return Redis.from_url(url, **options)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs(), **options
    )
    client: Redis = sentinel.master_for(target.master, **target.master_kwargs())
    return client


def sync_redis_client(url: str, **options: Any) -> redis.Redis:
    """A blocking client, for one-off checks (`followup doctor`)."""
    target = sentinel_target(url)
    if target is None:
        return redis.Redis.from_url(url, **options)
    sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs(), **options
    )
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        target.master, **target.master_kwargs()
    )
    return client


def make_broker(url: str, **options: Any) -> RedisBroker:
    """FastStream's broker for the URL: through Sentinel, its Sentinel broker."""
    target = sentinel_target(url)
    if target is None:
        return RedisBroker(url, **options)
    return RedisSentinelBroker(
        sentinels=list(target.sentinels),
        sentinel_master_name=target.master,
        sentinel_kwargs=target.sentinel_kwargs(),
        **target.master_kwargs(),
        **options,
    )
