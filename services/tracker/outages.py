"""Whose fault an error is: the database's or Redis's being away (an outage, waited out and
never counted against an entry's delivery cap), two transactions colliding (retried), or
something about the event being applied (counted; see docs/contract.md, section 11,
"Outages").

Decided by exception class, SQLSTATE and SQLite result code, never by message text, which can
quote data.
"""

from __future__ import annotations

import sqlite3

from redis import exceptions as redis_errors
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATE classes in which every code is the server's state, not the statement's:
# 08 connection exception, 53 insufficient resources (disk full, out of memory, too many
# connections), 58 system error (I/O).
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "58"})
# Codes from classes that also hold errors a statement causes itself (class 57 holds
# 57014, a statement cancelled by statement_timeout; class 25 the misuse of transactions).
_UNAVAILABLE_CODES = frozenset(
    {
        "57000",  # operator intervention
        "57P01",  # admin shutdown: our session ended (pg_terminate_backend, a fast shutdown)
        "57P02",  # crash shutdown
        "57P03",  # cannot connect now: starting up, shutting down, in recovery
        "57P05",  # idle session timeout
        "25006",  # read-only transaction: a standby, or a primary being failed over
        "40003",  # statement completion unknown: the connection went during a commit
    }
)
# 55000 "object not in prerequisite state" is an outage only when connecting: it is then
# "database ... is not currently accepting connections" (ALTER DATABASE ... ALLOW_CONNECTIONS
# false, as in maintenance); raised by a statement it is the statement's own.
_REFUSED_WHEN_CONNECTING = frozenset({"55000"})
# Serialisation failure and deadlock between workers: neither transaction's event is at fault.
_COLLISIONS = frozenset({"40001", "40P01"})
# SQLite primary result codes that describe the file or the machine, not the statement:
# BUSY and LOCKED ("database is locked"), NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
# Redis away, or not taking writes; and no pooled database connection free in time.
_UNAVAILABLE_TYPES = (
    PoolTimeout,
    redis_errors.ConnectionError,  # refused, reset; BusyLoadingError (loading its data)
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,  # a replica, or a primary being failed over
    redis_errors.MasterDownError,
    redis_errors.TryAgainError,
)


def is_outage(error: BaseException) -> bool:
    """The database or Redis is unavailable: nothing to do with the event being applied."""
    if isinstance(error, DBAPIError):
        return _database_outage(error)
    if isinstance(error, _UNAVAILABLE_TYPES):
        return True
    if isinstance(error, sqlite3.Error):
        return _sqlite_outage(error)
    code = _sqlstate(error)
    if code is not None:  # a driver's error raised as it is (asyncpg outside SQLAlchemy)
        return code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES
    return isinstance(error, ConnectionError | OSError | TimeoutError)


def is_collision(error: BaseException) -> bool:
    """Two transactions collided (serialisation failure, deadlock): try again at once."""
    orig = error.orig if isinstance(error, DBAPIError) else error
    return _sqlstate(orig) in _COLLISIONS


def is_transient(error: BaseException) -> bool:
    """Worth trying again as it is, without counting it against the entry."""
    return is_outage(error) or is_collision(error)


def _database_outage(error: DBAPIError) -> bool:
    orig = error.orig
    if error.connection_invalidated or isinstance(orig, OSError | TimeoutError):
        return True
    if isinstance(orig, sqlite3.Error):
        return _sqlite_outage(orig)
    code = _sqlstate(orig)
    if code is not None:
        if code in _REFUSED_WHEN_CONNECTING:
            return error.statement is None  # no statement: the connection was being made
        return code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES
    # No SQLSTATE: the driver's own failure ("connection is closed"), not a statement's.
    return isinstance(error, OperationalError | InterfaceError)


def _sqlite_outage(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return False
    return code & 0xFF in _SQLITE_UNAVAILABLE  # extended codes carry the primary in the low byte


def _sqlstate(error: BaseException | None) -> str | None:
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return str(code) if code else None
