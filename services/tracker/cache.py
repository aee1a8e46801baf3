"""The tracks a consumer process last wrote, kept in memory so its next batches need not read
them back.

A track's facts and obligations were read (and every fact parsed from JSON) in every batch
that touched it, and its facts re-serialised whole on every save: the largest costs of a batch
after the rules themselves. Each write of a track now stores a new random `version`; a batch
still reads every track it needs (under its locks, as before), but only the small columns and
the version, and takes the facts and obligations from here when the version is the one this
process wrote. A track written by another worker, before a restart, or by a batch whose
transaction did not commit has another version (or none) and is read from the database.

Correct only while the tracker is the one writer of `tracks` and `obligations`, as it is.
"""

from __future__ import annotations

import json
import secrets
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from services.rules.ledger import TrackKey, TrackState
from services.rules.model import Fact

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

FactKey = tuple[str, str]  # (source, id): one content per key, as events_received keeps it
# About 1 kB per track: 100,000 tracks is ~100 MB at most; the least recently used go first.
LIMIT = 100_000
_PENDING = "followup.tracks-written"
_TEXTS = "followup.fact-texts"


@dataclass(frozen=True, slots=True)
class Written:
    version: int
    state: TrackState
    texts: dict[FactKey, str]  # each fact's JSON text, as stored


@dataclass(slots=True)
class TrackCache:
    limit: int = LIMIT
    tracks: OrderedDict[TrackKey, Written] = field(default_factory=OrderedDict)

    def take(self, key: TrackKey, version: int | None) -> Written | None:
        """This process's last write of the track, if the database still holds that write;
        the state is a copy the caller may change."""
        written = self.tracks.get(key)
        if written is None or version is None or written.version != version:
            return None
        self.tracks.move_to_end(key)
        state = replace(written.state, obligations=dict(written.state.obligations))
        return Written(written.version, state, written.texts)

    def keep(self, writes: list[Written]) -> None:
        for written in writes:
            key = (written.state.rule, written.state.key)
            self.tracks[key] = written
            self.tracks.move_to_end(key)
        while len(self.tracks) > self.limit:
            self.tracks.popitem(last=False)


_caches: weakref.WeakKeyDictionary[Any, TrackCache] = weakref.WeakKeyDictionary()


def cache_of(session: AsyncSession) -> TrackCache:
    """The cache for the database this session's engine reaches (one per engine)."""
    engine = session.bind.sync_engine if session.bind is not None else session.get_bind()
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = TrackCache()
    return cache


def new_version() -> int:
    return secrets.randbits(63)  # fits a signed BIGINT


def written(session: AsyncSession, writes: list[Written]) -> None:
    """Note tracks written in this session's transaction, for `committed` to keep."""
    session.info.setdefault(_PENDING, []).extend(writes)


def committed(session: AsyncSession) -> None:
    """The transaction committed: keep what it wrote. (Nothing is kept otherwise.)"""
    writes = session.info.pop(_PENDING, None)
    if writes:
        cache_of(session).keep(writes)


def texts_of(session: AsyncSession) -> dict[FactKey, str]:
    """The JSON text of every fact this session has recorded or taken from the cache: a
    track's facts are stored by joining their texts, not by serialising them again."""
    book: dict[FactKey, str] = session.info.setdefault(_TEXTS, {})
    return book


def text_of(fact: Fact, book: dict[FactKey, str]) -> str:
    text = book.get((fact.source, fact.id))
    if text is None:
        text = book[(fact.source, fact.id)] = dumps(fact.to_json())
    return text


def dumps(value: Any) -> str:
    # As SQLAlchemy's JSON type writes it (json.dumps, ASCII escapes), so reads see no change.
    return json.dumps(value)
