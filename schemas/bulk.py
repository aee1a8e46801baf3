"""Bulk INSERT (`write`, the one way rows are written in bulk, its columns and their kinds
read off the table models) and keyed SELECT, one round trip per batch, values bound by the
driver.

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
from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import Any, Literal, overload

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    Integer,
    and_,
    any_,
    bindparam,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.db import dialect_of
from schemas.types import AwareDateTime, stored_utc

Kind = Literal["text", "bigint", "date", "timestamptz", "json"]
# SQLite allows 32,766 variables per statement (3.32 and later); stay well inside it.
_SQLITE_VARIABLES = 30_000


Conflict = Literal["nothing", "replace", "later"]


async def write(
    session: AsyncSession,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str] = (),
    on_conflict: Conflict = "nothing",
    keep: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[Any]:
    """INSERT `rows` (mappings from column name to value, all with the same columns) into
    `model`'s table: the one way rows are written in bulk. The columns, and how each value is
    bound, come from the model; a JSON column takes JSON text as it is (its values are
    arrays and objects, never a bare string) and anything else serialised.

    With `key` (the columns of a unique index), a row whose key is stored already: `nothing`
    leaves the stored one; `replace` overwrites every given column but the key and `keep`;
    `later` replaces it only with a later event, by (event_time, event_source, event_id)
    compared as one value, so arrival order never decides. `returning`: those columns of the
    rows written, read as the ORM reads them (dates, aware UTC timestamps, parsed JSON)."""
    if not rows:
        return []
    table = model.__table__
    names = [column.name for column in table.columns if column.name in rows[0]]
    kinds = [_kind(table.columns[name].type) for name in names]
    values = [list(column) for column in zip(*map(itemgetter(*names), rows), strict=True)]
    if len(names) == 1:  # itemgetter of one name gives the value, not a tuple
        values = [[row[names[0]] for row in rows]]
    for n, kind in enumerate(kinds):
        if kind == "json":
            values[n] = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values[n]]
    tail = _conflict_tail(table.name, names, key, on_conflict, keep)
    if returning:
        tail += " RETURNING " + ", ".join(f'"{name}"' for name in returning)
    found = await _insert(session, table.name, names, kinds, values, tail)
    if not returning:
        return found
    readers = [_READERS[_kind(table.columns[name].type)] for name in returning]
    shape = _returned(tuple(returning))
    return [shape(*(read(v) for read, v in zip(readers, row, strict=True))) for row in found]


@cache
def _returned(names: tuple[str, ...]) -> Any:
    """The returned rows' type: a tuple whose fields are also read by name, as ORM rows."""
    return namedtuple("Returned", names)


def _kind(sql_type: Any) -> Kind:
    if isinstance(sql_type, JSON):
        return "json"
    if isinstance(sql_type, AwareDateTime):
        return "timestamptz"
    if isinstance(sql_type, Date):
        return "date"
    if isinstance(sql_type, Integer):
        return "bigint"
    return "text"


def _conflict_tail(
    table: str, names: Sequence[str], key: Sequence[str], on_conflict: Conflict, keep: Sequence[str]
) -> str:
    if not key:
        return ""
    target = f"ON CONFLICT ({', '.join(f'{chr(34)}{k}{chr(34)}' for k in key)})"
    if on_conflict == "nothing":
        return f"{target} DO NOTHING"
    updated = [n for n in names if n not in key and n not in keep]
    sets = ", ".join(f'"{n}" = excluded."{n}"' for n in updated)
    tail = f"{target} DO UPDATE SET {sets}"
    if on_conflict == "later":
        order = ("event_time", "event_source", "event_id")
        stored = ", ".join(f'{table}."{n}"' for n in order)
        given = ", ".join(f'excluded."{n}"' for n in order)
        tail += f" WHERE ({stored}) < ({given})"
    return tail


async def _insert(
    session: AsyncSession,
    table: str,
    names: Sequence[str],
    kinds: Sequence[Kind],
    given: list[list[Any]],
    tail: str,
) -> list[Any]:
    """One INSERT of the rows given column by column, `tail` after the values."""
    quoted = ", ".join(f'"{name}"' for name in names)
    count = len(given[0])
    if dialect_of(session) == "postgresql":
        arrays = ", ".join(
            f"${n}::{'text' if kind == 'json' else kind}[]" for n, kind in enumerate(kinds, 1)
        )
        aliases = ", ".join(f"c{n}" for n in range(len(kinds)))
        picked = ", ".join(
            f"c{n}::json" if kind == "json" else f"c{n}" for n, kind in enumerate(kinds)
        )
        statement = (
            f"INSERT INTO {table} ({quoted}) SELECT {picked} "
            f"FROM unnest({arrays}) AS given({aliases}) {tail}"
        )
        return await run(session, statement, given)
    # Column by column, converting only the dates and timestamps: a conversion call for every
    # value of every row cost more than the statement.
    seen: dict[datetime, str] = {}  # most rows share the batch's one `now`: convert it once
    for n, kind in enumerate(kinds):
        if kind == "date":
            given[n] = [None if v is None else v.isoformat() for v in given[n]]
        elif kind == "timestamptz":
            given[n] = [
                None if v is None else seen.get(v) or seen.setdefault(v, _sqlite_timestamp(v))
                for v in given[n]
            ]
    flat = list(chain.from_iterable(zip(*given, strict=True)))
    width = len(names)
    per_chunk = max(1, _SQLITE_VARIABLES // width)
    returned: list[Any] = []
    placeholder = f"({', '.join('?' * width)})"
    for start in range(0, count, per_chunk):
        rows = min(per_chunk, count - start)
        statement = (
            f"INSERT INTO {table} ({quoted}) VALUES {', '.join([placeholder] * rows)} {tail}"
        )
        returned += await run(session, statement, flat[start * width : (start + rows) * width])
    return returned


# Filters by a list of values, one rule for both kinds of statement: a list is one parameter
# (an array on PostgreSQL, JSON text on SQLite, which limits variables per statement), and a
# list of pairs is grouped by its first value, each group one index search. `among` and
# `pairs_in` build SQLAlchemy expressions; `In` and `PairsIn` the same for `select_where`.


def _grouped(pairs: Iterable[tuple[Any, Any]]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for a, b in pairs:
        grouped.setdefault(a, []).append(b)
    return grouped


def pairs_in(first: Any, second: Any, pairs: Iterable[tuple[Any, Any]]) -> ColumnElement[bool]:
    """`(first, second) IN pairs`, written as `first = a AND second IN (...)` for each `a`.

    SQLite (3.40) answers a row-value IN by scanning the whole table or index, growing with
    the table, in every batch. Grouped by the first column (a rule: a handful of values) each
    term is an index search (BENCHMARKS.md has the figures)."""
    grouped = _grouped(pairs)
    if not grouped:
        return false()
    return or_(*(and_(first == a, second.in_(bs)) for a, bs in grouped.items()))


# Beyond this many values SQLite is given one JSON parameter instead of one per value: its limit
# on variables is 32,766 by default (250,000 in Debian's build), and a clock catching up after
# a bulk load reads more obligations than that by id.
_SQLITE_INLINE = 1000


def among(session: AsyncSession, column: Any, values: Iterable[Any]) -> Any:
    """`column IN values` with one parameter however many values (strings or integers), each
    sent once: `= ANY(array)` on PostgreSQL, `IN (SELECT value FROM json_each(?))` on SQLite."""
    unique = list(dict.fromkeys(values))
    if dialect_of(session) == "postgresql":
        return column == any_(bindparam(None, unique, type_=ARRAY(column.type)))
    if len(unique) <= _SQLITE_INLINE:
        return column.in_(unique)
    listed = func.json_each(bindparam(None, json.dumps(unique))).table_valued("value")
    return column.in_(select(listed.c.value))


@dataclass(frozen=True, slots=True)
class In:
    """`column IN values` (text values), for `select_where`."""

    column: str
    values: Collection[str]


@dataclass(frozen=True, slots=True)
class PairsIn:
    """`(first, second) IN pairs` (text values), for `select_where`: one search of the
    (first, second) index per value of `first` (see pairs_in)."""

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
        for a, bs in _grouped(condition.pairs).items():
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


def _same(value: Any) -> Any:
    return value


_READERS: dict[Kind, Callable[[Any], Any]] = {
    "text": _same,
    "bigint": _same,
    "date": lambda value: None if value is None else day(value),
    "timestamptz": lambda value: None if value is None else timestamp(value),
    "json": lambda value: None if value is None else json_value(value),
}


def _sqlite_timestamp(value: datetime) -> str:
    if value.tzinfo is UTC:  # as facts and `now` are: "...+00:00" written without its offset
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a timestamp column")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
