"""INSERT ... ON CONFLICT for whichever database a session is bound to, and in bulk.

A midnight writes thousands of alarms, alerts and outbox rows. An executemany through
SQLAlchemy processes every value of every row in Python; on PostgreSQL `insert_rows` instead
sends one statement whose parameters are one array per column (`INSERT ... SELECT FROM
unnest(...)`), which asyncpg encodes in C: one round trip and no per-row work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.db import dialect_of, insert_for

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


async def insert_rows(
    *,
    session: AsyncSession,
    model: Any,
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert rows (all with the same keys), skipping those whose `conflict` key exists;
    returns the `returning` columns of the rows inserted, in no particular order."""
    if not rows:
        return []
    table = model.__table__
    if dialect_of(session) != "postgresql":
        statement = insert_for(session, model).on_conflict_do_nothing(index_elements=conflict)
        if not returning:
            await session.execute(statement, list(rows))
            return []
        statement = statement.returning(*(table.c[c] for c in returning))
        return list((await session.execute(statement, list(rows))).all())
    names = list(rows[0])
    quote = _PG.identifier_preparer.quote
    arrays, casts, selected = {}, [], []
    for n, name in enumerate(names):
        kind = table.c[name].type
        values = [row[name] for row in rows]
        if isinstance(kind, JSON):  # sent as text, made JSON by the server
            arrays[f"p{n}"] = [None if v is None else json.dumps(v) for v in values]
            casts.append(f"CAST(:p{n} AS TEXT[])")
            selected.append(f"CAST(u.c{n} AS JSON)")
        else:
            arrays[f"p{n}"] = values
            casts.append(f"CAST(:p{n} AS {kind.compile(dialect=_PG)}[])")
            selected.append(f"u.c{n}")
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(casts)}) "
        f"AS u({', '.join(f'c{n}' for n in range(len(names)))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO NOTHING"
    )
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    statement = text(sql)
    statement = statement.bindparams(*(bindparam(k) for k in arrays))
    if returning:
        statement = statement.columns(*(table.c[c] for c in returning))
    result = await session.execute(statement, arrays)
    return list(result.all()) if returning else []
