"""Redis Sentinel URLs (docs/contract.md section 11, "Added: Redis through Sentinel"): which
sentinels, which master, which database and credentials; read without importing a client, so
the settings can refuse a wrong one at start.

    redis+sentinel://[[user]:password@]host:26379[,host:26379...]/master[/db][?sentinel_password=]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
SENTINEL_PORT = 26379


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def sentinel_kwargs(self) -> dict[str, Any] | None:
        return {"password": self.sentinel_password} if self.sentinel_password else None

    def master_kwargs(self) -> dict[str, Any]:
        return {"db": self.db, "username": self.username, "password": self.password}


def sentinel_target(url: str) -> SentinelTarget | None:
    """The sentinels and master a redis+sentinel:// URL names; None for any other URL. A
    Sentinel URL that names no sentinel or no master is refused, saying what is missing."""
    if not url.lower().startswith(f"{SENTINEL_SCHEME}://"):
        return None
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    sentinels = tuple(_host_port(h) for h in hosts.split(",") if h.strip())
    if not sentinels:
        raise ValueError(f"{SENTINEL_SCHEME}:// names no sentinel (host:port,host:port)")
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError(f"{SENTINEL_SCHEME}:// names no master: add /MASTER-NAME after the hosts")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(f"{SENTINEL_SCHEME}:// path must be /MASTER-NAME or /MASTER-NAME/DB")
    query = parse_qs(parts.query)
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise ValueError(f"{SENTINEL_SCHEME}:// does not take {', '.join(sorted(unknown))}")
    return SentinelTarget(
        sentinels=sentinels,
        master=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def _host_port(text: str) -> tuple[str, int]:
    """host, host:port, [v6] or [v6]:port; the port 26379 unless given."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.partition(":")
    port = port or str(SENTINEL_PORT)
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{SENTINEL_SCHEME}:// sentinel {text!r}: the port must be a number")
    if not host:
        raise ValueError(f"{SENTINEL_SCHEME}:// sentinel {text!r} has no host")
    return host, int(port)


def public_form(target: SentinelTarget) -> str:
    """The URL without credentials, for logs and the AsyncAPI document."""
    hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in target.sentinels)
    return f"{SENTINEL_SCHEME}://{hosts}/{target.master}/{target.db}"
