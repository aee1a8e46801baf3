"""Who may read an obligation's id, and what everyone else reads instead (docs/contract.md
section 12, "People's API"). An id holds the key of what it tracks, a victim's or defendant's
id for some rules; the people who carry or supervise the casework need it, everyone else is
given the `obligation_ref` the outbound events already use. Pure: the API applies it to each
answer it gives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from events.outbound import obligation_ref
from services.access.scope import Scope

# Scopes drawn around a line of people: the owner, their legal manager, their unit head.
# Area, national and system readers oversee performance, not the case, and get references.
SEES_IDS = frozenset({"own", "team", "unit"})
# Key fields that name a person other than staff: the ids the contract keeps out of events.
PERSONAL_FIELDS = frozenset({"victim_id", "defendant_id"})
REDACTED = "[redacted]"


def sees_person_ids(scope: Scope) -> bool:
    return scope.kind in SEES_IDS


def personal_values(key: str, key_fields: Sequence[str]) -> list[str]:
    """The values of `key` (its fields' values joined by "/") that name a victim or a
    defendant. A value holding "/" itself leaves the parts unmatched to fields: then every
    part is taken, since which one is personal cannot be told."""
    if not PERSONAL_FIELDS.intersection(key_fields):
        return []
    parts = key.split("/")
    if len(parts) != len(key_fields):
        return [p for p in parts if p]
    return [p for p, name in zip(parts, key_fields, strict=True) if name in PERSONAL_FIELDS and p]


def strip(text: str, values: Iterable[str]) -> str:
    """`text` with each whole occurrence of a value (not one inside a longer id) replaced."""
    for value in sorted(set(values), key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", REDACTED, text)
    return text


def redact_obligation(
    item: Mapping[str, Any], *, scope: Scope, key_fields: Sequence[str]
) -> dict[str, Any]:
    """An obligation's JSON (section 5, or explained) as `scope`'s holder may read it: with its
    `obligation_ref` always, and for those who get references, `id` and `key` null and the
    explanation without the personal values of the key. `key_fields`: the rule's opening key."""
    found = {**item, "obligation_ref": obligation_ref(item["id"])}
    if sees_person_ids(scope):
        return found
    values = [item["id"], item["key"], *personal_values(item["key"], key_fields)]
    return {**found, "id": None, "key": None, "explanation": strip(item["explanation"], values)}


def redact_alert(item: Mapping[str, Any], *, scope: Scope) -> dict[str, Any]:
    """An alert's JSON (section 7): its `obligation` (the id) null for those who get references;
    `obligation_ref` is always on it."""
    if sees_person_ids(scope):
        return dict(item)
    return {**item, "obligation": None}
