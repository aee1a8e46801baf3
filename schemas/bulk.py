"""Bulk INSERT (and keyed SELECT) for the consumer's hot statements, one round trip per batch,
values bound by the driver.

SQLAlchemy's executemany builds and type-processes every parameter of every row in Python
(`construct_params` and a bind processor per value): for a batch of 500 events that cost more
than the database's own work. Here the rows are given with their values already in the
driver's types and the statement is sent as written (`exec_driver_sql`, still on the session's
connection and inside its transaction):

- PostgreSQL: `INSERT ... SELECT * FROM unnest($1::text[], ...)`, one array per column, so the
  statement text (and asyncpg's prepared statement) is the same whatever the row count;
- SQLite: `INSERT ... VALUES (?, ...), (?, ...)` in chunks under SQLite's limit on variables.

Every statement here goes through `run`, which on SQLite makes one call to aiosqlite where
SQLAlchemy makes four.

Values are stored exactly as the ORM stores them (the tables are read through it): timestamps
in UTC, on SQLite as SQLAlchemy's `YYYY-MM-DD HH:MM:SS.ffffff` text, dates as ISO text, JSON
columns as JSON text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any, Literal, overload

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.db import dialect_of
from schemas.types import stored_utc

Kind = Literal["text", "bigint", "date", "timestamptz", "json"]
# SQLite allows 32,766 variables per statement (3.32 and later); stay well inside it.
_SQLITE_VARIABLES = 30_000


@dataclass(frozen=True, slots=True)
class Columns:
    """A table's columns as the bulk statement writes them: names and value kinds."""

    table: str
    names: tuple[str, ...]
    kinds: tuple[Kind, ...]

    @classmethod
    def of(cls, table: str, **kinds: Kind) -> Columns:
        return cls(table, tuple(kinds), tuple(kinds.values()))


async def insert(
    session: AsyncSession,
    columns: Columns,
    rows: Sequence[Sequence[Any]],
    *,
    tail: str = "",
) -> list[Any]:
    """INSERT `rows` (tuples in `columns` order); `tail` is what follows the values (ON
    CONFLICT ..., RETURNING ...), written for both databases. Returns the returned rows."""
    if not rows:
        return []
    names = ", ".join(f'"{name}"' for name in columns.names)
    if dialect_of(session) == "postgresql":
        arrays = ", ".join(
            f"${n}::{'text' if kind == 'json' else kind}[]"
            for n, kind in enumerate(columns.kinds, 1)
        )
        aliases = ", ".join(f"c{n}" for n in range(len(columns.kinds)))
        picked = ", ".join(
            f"c{n}::json" if kind == "json" else f"c{n}" for n, kind in enumerate(columns.kinds)
        )
        statement = (
            f"INSERT INTO {columns.table} ({names}) SELECT {picked} "
            f"FROM unnest({arrays}) AS given({aliases}) {tail}"
        )
        return await run(session, statement, [list(column) for column in zip(*rows, strict=True)])
    # Column by column, converting only the dates and timestamps: a conversion call for every
    # value of every row cost more than the statement.
    given = [list(column) for column in zip(*rows, strict=True)]
    seen: dict[datetime, str] = {}  # most rows share the batch's one `now`: convert it once
    for n, kind in enumerate(columns.kinds):
        if kind == "date":
            given[n] = [None if v is None else v.isoformat() for v in given[n]]
        elif kind == "timestamptz":
            given[n] = [
                None if v is None else seen.get(v) or seen.setdefault(v, _sqlite_timestamp(v))
                for v in given[n]
            ]
    flat = list(chain.from_iterable(zip(*given, strict=True)))
    width = len(columns.names)
    per_chunk = max(1, _SQLITE_VARIABLES // width)
    returned: list[Any] = []
    placeholder = f"({', '.join('?' * width)})"
    for start in range(0, len(rows), per_chunk):
        count = min(per_chunk, len(rows) - start)
        statement = (
            f"INSERT INTO {columns.table} ({names}) "
            f"VALUES {', '.join([placeholder] * count)} {tail}"
        )
        returned += await run(session, statement, flat[start * width : (start + count) * width])
    return returned


@dataclass(frozen=True, slots=True)
class In:
    """`column IN values` (text values), for `select_where`."""

    column: str
    values: Collection[str]


@dataclass(frozen=True, slots=True)
class PairsIn:
    """`(first, second) IN pairs` (text values), for `select_where`: one search of the
    (first, second) index per value of `first` (see schemas.db.pairs_in)."""

    first: str
    second: str
    pairs: Collection[tuple[str, str]]


async def select_where(session: AsyncSession, query: str, *conditions: In | PairsIn) -> list[Any]:
    """`query` (SELECT ... FROM table) for the rows meeting any of `conditions`. Each list of
    values is one parameter (an array on PostgreSQL, JSON text on SQLite), so the statement
    is the same text whatever the number of values: SQLAlchemy built and compiled one with a
    parameter per value anew for every batch, which cost more than the search. Values come
    back in the driver's types (`timestamp` and `json_value` read them as the ORM would)."""
    postgres = dialect_of(session) == "postgresql"
    terms: list[str] = []
    params: list[Any] = []

    def listed(values: list[str]) -> str:
        if postgres:
            params.append(values)
            return f"ANY(${len(params)}::text[])"
        params.append(json.dumps(values))
        return "(SELECT value FROM json_each(?))"

    def equal(value: str) -> str:
        params.append(value)
        return mark(session, len(params))

    inside = "= " if postgres else "IN "
    for condition in conditions:
        if isinstance(condition, In):
            if values := list(dict.fromkeys(condition.values)):
                terms.append(f'"{condition.column}" {inside}{listed(values)}')
            continue
        grouped: dict[str, list[str]] = {}
        for a, b in condition.pairs:
            grouped.setdefault(a, []).append(b)
        for a, bs in grouped.items():
            first = f'"{condition.first}" = {equal(a)}'
            terms.append(f'({first} AND "{condition.second}" {inside}{listed(bs)})')
    if not terms:
        return []
    return await run(session, f"{query} WHERE {' OR '.join(terms)}", params)


async def run(session: AsyncSession, statement: str, params: Sequence[Any] = ()) -> list[Any]:
    """`statement` as written, its `params` bound by the driver, on the session's connection
    and inside its transaction; the rows it returns (none for a plain INSERT).

    On SQLite one call to aiosqlite where SQLAlchemy makes four (cursor, execute, fetch,
    close): where aiosqlite runs the connection on a thread of its own (every process but
    `serve`, see schemas.sqlite.inline), each call is a hand-over to it and back, which took
    longer than most statements. Errors are SQLAlchemy's, as from any other statement, so
    callers tell a locked database from a bad row the same way."""
    connection = await session.connection()
    if dialect_of(session) == "postgresql":
        result = await connection.exec_driver_sql(statement, tuple(params))
        return list(result.all()) if result.returns_rows else []
    driver: Any = (await connection.get_raw_connection()).driver_connection
    try:
        return list(await driver.execute_fetchall(statement, params))
    except sqlite3.Error as error:
        raise DBAPIError.instance(statement, params, error, sqlite3.Error) from error


def mark(session: AsyncSession, n: int) -> str:
    """The placeholder of a driver-bound statement's `n`th parameter (from 1)."""
    return f"${n}" if dialect_of(session) == "postgresql" else "?"


def bound(session: AsyncSession, value: Any) -> Any:
    """A parameter of a driver-bound statement, as the column stores it (see the module's
    docstring): on SQLite, timestamps and dates as text."""
    if dialect_of(session) == "postgresql":
        return value
    if isinstance(value, datetime):
        return _sqlite_timestamp(value)
    return value.isoformat() if isinstance(value, date) else value


def timestamp(value: datetime | str) -> datetime:
    """A timestamp column read by the driver, as the ORM reads it: aware, in UTC."""
    return stored_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


@overload
def day(value: date | str) -> date: ...
@overload
def day(value: None) -> None: ...
def day(value: date | str | None) -> date | None:
    """A date column read by the driver (ISO text on SQLite)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def json_value(value: Any) -> Any:
    """A JSON column read by the driver: text on SQLite (and asyncpg's `json`), parsed."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _sqlite_timestamp(value: datetime) -> str:
    if value.tzinfo is UTC:  # as facts and `now` are: "...+00:00" written without its offset
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a timestamp column")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
