"""INSERT ... ON CONFLICT for whichever database a session is bound to."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from schemas.db import dialect_of


def insert_for(session: AsyncSession, model: Any) -> Any:
    dialect = dialect_of(session)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)
