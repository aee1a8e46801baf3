"""Whose fault an error is: an outage is waited out and never counted against an entry's
delivery cap; anything else about the statement is the event's own."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import asyncpg
import pytest
from redis import exceptions as redis_errors
from sqlalchemy.exc import DBAPIError, IntegrityError, InternalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.tracker.outages import is_collision, is_outage, is_transient

INSERT = "INSERT INTO events_received (source, event_id) VALUES ($1, $2)"


def wrapped(orig: BaseException, *, statement: str | None = INSERT) -> DBAPIError:
    """As SQLAlchemy raises a driver's error; `statement` None: raised while connecting."""
    return DBAPIError(statement, None, orig)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "orig",
    [
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CrashShutdownError("terminating connection: crash of another"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection does not exist"),
        asyncpg.exceptions.DiskFullError("could not extend file"),
        asyncpg.exceptions.PostgresIOError("could not read block"),
    ],
    ids=lambda e: f"{type(e).__name__}-{e.sqlstate}",
)
def test_postgresql_unavailable_is_an_outage_in_a_statement_or_connecting(
    orig: asyncpg.PostgresError,
) -> None:
    assert is_outage(wrapped(orig))
    assert is_outage(wrapped(orig, statement=None))
    assert is_outage(orig)  # raised by asyncpg as it is
    assert is_transient(wrapped(orig))


def test_not_accepting_connections_is_an_outage_only_when_connecting() -> None:
    # ALTER DATABASE ... ALLOW_CONNECTIONS false: SQLSTATE 55000 on connecting. The same code
    # from a statement is about the statement ("object not in prerequisite state").
    refused = asyncpg.exceptions.ObjectNotInPrerequisiteStateError(
        'database "followup" is not currently accepting connections'
    )
    assert refused.sqlstate == "55000"
    assert is_outage(wrapped(refused, statement=None))
    assert not is_transient(wrapped(refused, statement=INSERT))


def test_a_connection_ended_under_a_statement_is_an_outage() -> None:
    # What SQLAlchemy raised when pg_terminate_backend ended the session mid-use.
    ended = InternalError(INSERT, None, asyncpg.exceptions.InternalClientError("unexpected"))
    ended.connection_invalidated = True
    assert is_outage(ended)


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        TimeoutError(),
        PoolTimeout("QueuePool limit of size 5 overflow 5 reached"),
        wrapped(ConnectionResetError(104, "Connection reset by peer")),
        redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:6379"),
        redis_errors.TimeoutError("Timeout reading from socket"),
        redis_errors.BusyLoadingError("Redis is loading the dataset in memory"),
        redis_errors.ReadOnlyError("You can't write against a read only replica."),
    ],
    ids=lambda e: type(e).__name__,
)
def test_network_and_redis_unavailable_are_outages(error: BaseException) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "orig",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key value"),
        asyncpg.exceptions.NumericValueOutOfRangeError("value out of range"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.ObjectInUseError("cannot DROP TABLE because it is being used"),
        asyncpg.exceptions.TransactionIntegrityConstraintViolationError("deferred check"),
    ],
    ids=lambda e: f"{type(e).__name__}-{e.sqlstate}",
)
def test_a_statement_s_own_errors_are_not_outages(orig: asyncpg.PostgresError) -> None:
    assert not is_transient(wrapped(orig))
    assert not is_transient(wrapped(orig, statement=None))


@pytest.mark.parametrize(
    "orig",
    [
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
    ],
    ids=lambda e: e.sqlstate,
)
def test_collisions_are_retried_but_are_not_outages(orig: asyncpg.PostgresError) -> None:
    assert is_collision(wrapped(orig))
    assert is_transient(wrapped(orig))
    assert not is_outage(wrapped(orig))


def test_other_redis_and_python_errors_are_the_event_s_own() -> None:
    assert not is_transient(redis_errors.ResponseError("WRONGTYPE Operation against a key"))
    assert not is_transient(OverflowError("date value out of range"))
    assert not is_transient(ValueError("bad"))


@pytest.fixture
def shared_memory_database() -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
    uri = "file:outages?mode=memory&cache=shared"
    holder = sqlite3.connect(uri, uri=True, isolation_level=None)
    other = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=0)
    holder.execute("CREATE TABLE t (x PRIMARY KEY)")
    try:
        yield holder, other
    finally:
        other.close()
        holder.close()


def test_sqlite_locked_is_an_outage(
    shared_memory_database: tuple[sqlite3.Connection, sqlite3.Connection],
) -> None:
    holder, other = shared_memory_database
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (2)")
    assert locked.value.sqlite_errorname in ("SQLITE_LOCKED", "SQLITE_LOCKED_SHAREDCACHE")
    assert is_outage(locked.value)
    assert is_outage(wrapped(locked.value))
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode, busy.sqlite_errorname = 5, "SQLITE_BUSY"
    assert is_outage(wrapped(busy))


def test_sqlite_statement_errors_are_the_event_s_own(
    shared_memory_database: tuple[sqlite3.Connection, sqlite3.Connection],
) -> None:
    holder, _ = shared_memory_database
    holder.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        holder.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError) as missing:
        holder.execute("SELECT * FROM no_such_table")
    assert not is_transient(duplicate.value)
    assert not is_transient(IntegrityError(INSERT, None, duplicate.value))
    assert not is_transient(wrapped(missing.value))  # an OperationalError, but the statement's
