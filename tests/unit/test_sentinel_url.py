"""FOLLOWUP_REDIS_URL through Sentinel (docs/contract.md section 11, "Added: Redis through
Sentinel"): what a redis+sentinel:// URL names, what is refused with which reason, and the
clients and broker made from it (nothing connects here)."""

from __future__ import annotations

import pytest
from faststream.redis import RedisSentinelBroker
from pydantic import ValidationError
from redis.asyncio.sentinel import SentinelConnectionPool

from services.platform.broker.connect import make_broker, redis_client, sync_redis_client
from services.platform.broker.sentinel_url import SentinelTarget, public_form, sentinel_target
from services.platform.settings import Settings


def test_plain_urls_are_not_sentinel_urls() -> None:
    for url in ("redis://h:6379/0", "rediss://h", "unix:///run/redis.sock"):
        assert sentinel_target(url) is None


def test_sentinels_master_and_database() -> None:
    target = sentinel_target("redis+sentinel://s1:26379,s2:26380,s3/followup/2")
    assert target == SentinelTarget(
        sentinels=(("s1", 26379), ("s2", 26380), ("s3", 26379)), master="followup", db=2
    )


def test_credentials_go_to_the_master_and_sentinel_password_to_the_sentinels() -> None:
    target = sentinel_target(
        "redis+sentinel://app:p%40ss@[::1]:26379,10.0.0.2/mymaster?sentinel_password=s3cret"
    )
    assert target is not None
    assert target.sentinels == (("::1", 26379), ("10.0.0.2", 26379))
    assert target.master_kwargs() == {"db": 0, "username": "app", "password": "p@ss"}
    assert target.sentinel_kwargs() == {"password": "s3cret"}
    assert public_form(target) == "redis+sentinel://[::1]:26379,10.0.0.2:26379/mymaster/0"


def test_password_without_a_user() -> None:
    target = sentinel_target("redis+sentinel://:secret@s1/m")
    assert target is not None
    assert (target.username, target.password, target.sentinel_kwargs()) == (None, "secret", None)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("redis+sentinel:///followup", "names no sentinel"),
        ("redis+sentinel://s1:26379", "names no master"),
        ("redis+sentinel://s1:26379/", "names no master"),
        ("redis+sentinel://s1:port/m", "the port must be a number"),
        ("redis+sentinel://s1:0/m", "the port must be a number"),
        ("redis+sentinel://:26379/m", "has no host"),
        ("redis+sentinel://s1/m/zero", "/MASTER-NAME or /MASTER-NAME/DB"),
        ("redis+sentinel://s1/m/0/x", "/MASTER-NAME or /MASTER-NAME/DB"),
        ("redis+sentinel://s1/m?ssl=true", "does not take ssl"),
    ],
)
def test_a_wrong_sentinel_url_is_refused_saying_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        sentinel_target(url)
    with pytest.raises(ValidationError, match=reason):
        Settings(_env_file=None, redis_url=url)


def test_settings_accept_a_sentinel_url() -> None:
    url = "redis+sentinel://s1,s2/followup"
    assert Settings(_env_file=None, redis_url=url).redis_url == url


async def test_clients_and_broker_ask_the_sentinels_for_the_master() -> None:
    url = "redis+sentinel://:pw@s1:26379,s2:26380/followup/3"
    client = redis_client(url)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "followup"
    assert [
        c.connection_pool.connection_kwargs["port"] for c in pool.sentinel_manager.sentinels
    ] == [
        26379,
        26380,
    ]
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (3, "pw")
    await client.aclose()
    blocking = sync_redis_client(url)
    assert blocking.connection_pool.service_name == "followup"
    blocking.close()
    assert isinstance(make_broker(url), RedisSentinelBroker)
    assert not isinstance(make_broker("redis://127.0.0.1:6379"), RedisSentinelBroker)
