"""A scope as a SQL condition, so every list and lookup is cut to what its reader may see in the
query itself (docs/contract.md section 12, "Roles and scope")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, true

from services.access.scope import Scope


def in_scope(scope: Scope, *, owner: Any, area: Any) -> ColumnElement[bool]:
    """`owner` and `area`: the columns naming whose the row is (an obligation's owner, an
    alert's recipient) and its Area."""
    if not scope.casework:
        return false()
    conditions: list[ColumnElement[bool]] = []
    if scope.owners is not None:
        conditions.append(owner.in_(sorted(scope.owners)) if scope.owners else false())
    if scope.areas is not None:
        conditions.append(area.in_(sorted(scope.areas)) if scope.areas else false())
    return and_(*conditions) if conditions else true()
