"""The embedded Redis start waits out a server that refuses connections for a moment."""

from __future__ import annotations

import pytest
import redis

from services.platform.broker.embedded import wait_for_server_start


class _Starting:
    """A server that has bound its socket and refuses `refusals` pings before it listens."""

    def __init__(self, refusals: int, start_timeout: int = 5) -> None:
        self.refusals, self.start_timeout, self.pings = refusals, start_timeout, 0

    def ping(self) -> bool:
        self.pings += 1
        if self.refusals:
            self.refusals -= 1
            raise redis.ConnectionError("Error 111 connecting to redis.socket. Connection refused.")
        return True


def test_refused_pings_are_retried_until_the_server_listens() -> None:
    server = _Starting(refusals=2)
    wait_for_server_start(server)
    assert server.pings == 3


def test_a_server_that_never_listens_fails_the_start_after_the_timeout() -> None:
    server = _Starting(refusals=1_000, start_timeout=0)
    with pytest.raises(redis.ConnectionError, match="refused"):
        wait_for_server_start(server)
    assert server.pings == 1
