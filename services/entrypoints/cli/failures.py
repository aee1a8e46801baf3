"""The one error handler of the `followup` command, and its exit codes (docs/contract.md,
section 6, "Exit codes").

A person at a terminal gets one line naming the setting or host at fault and what to do;
`--debug` gives the traceback instead.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from services.platform.settings import Settings


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # a line rejected, a chain broken, a check that found a problem
    USAGE = 2  # a bad option, argument or setting
    NOT_FOUND = 3  # an unknown Area, inspection or id
    INFRASTRUCTURE = 4  # the database, Redis, mail or an HTTP port unreachable or busy
    INTERNAL = 70  # a bug: the traceback with --debug


class Failure(Exception):
    """What a command reports as one line before it exits with `code`."""

    code = ExitCode.CHECK_FAILED


class NotFound(Failure):
    """`what` named `given` does not exist; `valid` are those that do (listed, up to a few)."""

    code = ExitCode.NOT_FOUND
    SHOWN = 20

    def __init__(self, what: str, given: object, valid: Sequence[object] = ()) -> None:
        listed = ", ".join(str(v) for v in list(valid)[: self.SHOWN])
        more = f" and {len(valid) - self.SHOWN} more" if len(valid) > self.SHOWN else ""
        known = f"; known: {listed}{more}" if valid else f"; there are no {what}s yet"
        super().__init__(f"no {what} {given!r}{known}")


class Unavailable(Failure):
    """A server or port this command needs cannot be had."""

    code = ExitCode.INFRASTRUCTURE


def describe(error: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one line for an error no command handled itself."""
    if isinstance(error, Failure):
        return error.code, str(error)
    for explain in (_settings, _rule_pack, _database, _redis, _port):
        found = explain(error)
        if found is not None:
            return found
    return ExitCode.INTERNAL, (
        f"internal error: {type(error).__name__}: {first_line(error)} "
        "(run again with --debug for the traceback, and please report it)"
    )


def _settings(error: BaseException) -> tuple[ExitCode, str] | None:
    from pydantic import ValidationError

    if not isinstance(error, ValidationError) or error.title != "Settings":
        return None
    problems = "; ".join(
        f"FOLLOWUP_{'_'.join(str(p) for p in problem['loc']).upper()}: {problem['msg']}"
        f" (got {problem['input']!r})"
        for problem in error.errors()
    )
    return ExitCode.USAGE, f"bad setting: {problems}; fix it in the environment or .env"


def _rule_pack(error: BaseException) -> tuple[ExitCode, str] | None:
    from services.rules.packfile import RulePackError

    if not isinstance(error, RulePackError):
        return None
    return ExitCode.USAGE, (
        f"rule pack (FOLLOWUP_RULE_PACK): {'; '.join(error.problems[:3])}; "
        "see `followup rules check FILE`"
    )


def _database(error: BaseException) -> tuple[ExitCode, str] | None:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    from_database = isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )
    # Before the engine wraps it (a refused connect while opening the runtime) it is the
    # driver's or the socket's own error, which Redis's client never raises bare.
    if not from_database and (not _is_connection_error(error) or _from_redis(error)):
        return None
    return ExitCode.INFRASTRUCTURE, (
        f"database {_database_shown()}: {first_line(getattr(error, 'orig', None) or error)}; "
        "check FOLLOWUP_DATABASE_URL and that the server is up (`followup doctor`)"
    )


def _redis(error: BaseException) -> tuple[ExitCode, str] | None:
    import redis

    if not isinstance(error, redis.RedisError):
        return None
    return ExitCode.INFRASTRUCTURE, (
        f"Redis {_redis_shown()}: {first_line(error)}; check FOLLOWUP_REDIS_URL and that the "
        "server is up (`followup doctor`)"
    )


def _port(error: BaseException) -> tuple[ExitCode, str] | None:
    if not (isinstance(error, OSError) and error.errno == 98):  # EADDRINUSE
        return None
    return ExitCode.INFRASTRUCTURE, (
        f"{first_line(error)}: set FOLLOWUP_HTTP_PORT (or --port) to a free port"
    )


def _is_connection_error(error: BaseException) -> bool:
    return isinstance(error, ConnectionError | TimeoutError) or (
        isinstance(error, OSError) and error.errno not in (None, 98)
    )


def _from_redis(error: BaseException) -> bool:
    return type(error).__module__.startswith("redis")


def _database_shown() -> str:
    settings = _settings_or_none()
    if settings is None:
        return "(settings unreadable)"
    return without_password(settings.sqlalchemy_url())


def _redis_shown() -> str:
    settings = _settings_or_none()
    if settings is None or settings.redis_url is None:
        return "(embedded)"
    return without_password(settings.redis_url)


def _settings_or_none() -> Settings | None:
    from services.platform.settings import Settings

    try:
        return Settings()
    except Exception:  # the settings are themselves the fault: reported elsewhere
        return None


def without_password(url: str) -> str:
    """A database or Redis URL as a person may be shown it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: shown as given, less any password
        head, at, tail = url.rpartition("@")
        return f"{head.split(':')[0]}://***@{tail}" if at else url


def first_line(error: object) -> str:
    """The first line of what an error says, for a one-line report."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
