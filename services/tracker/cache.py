"""The tracks and linked facts a consumer process last wrote, kept in memory so its next
batches need not read them back.

A track's facts and obligations were read (and every fact parsed from JSON) in every batch
that touched it, and its facts re-serialised whole on every save: the largest costs of a batch
after the rules themselves. Each write of a track now stores a new random `version`; a batch
still reads every track it needs (under its locks, as before), but only the small columns and
the version, and takes the facts and obligations from here when the version is the one this
process wrote. A track written by another worker, before a restart, or by a batch whose
transaction did not commit has another version (or none) and is read from the database.

The linked facts (`linked_facts`, a case's hearings that its case reviews read, its
reallocations) are kept the same way, by their own `version`: they were read, parsed and
serialised whole again in every batch that touched the link, a tenth or more of `serve`'s
thread on SQLite (BENCHMARKS.md, "Live stream throughput (issue 20)").

Correct only while the tracker is the one writer of `tracks`, `obligations` and `linked_facts`,
as it is.
"""

from __future__ import annotations

import json
import secrets
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from services.rules.ledger import LinkKey, TrackKey, TrackState
from services.rules.model import Fact

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

FactKey = tuple[str, str]  # (source, id): one content per key, as events_received keeps it
# A track's key or a link's, told apart by the first part ("t" or "l"): both are (rule, value).
_Key = tuple[str, str, str]
MB = 1024 * 1024
# FOLLOWUP_CACHE_MB's default; the least recently used tracks go first beyond it.
DEFAULT_BUDGET = 64 * MB
_PENDING = "followup.tracks-written"
_TEXTS = "followup.fact-texts"
# What a kept track costs in memory, estimated from what it holds: its shells, each fact twice
# (parsed, a Fact and its data dict, and as JSON text), each obligation draft and its
# explanation. Calibrated by measuring tracks of bench.mix (BENCHMARKS.md, "Bounded
# resources"); a track's cost varies with its facts from about 1 kB to 80 kB, which is why the
# bound is on bytes, not tracks.
_TRACK_BYTES = 1024
_FACT_BYTES = 480
_FACT_TEXT_FACTOR = 3.5  # per character of the fact's JSON text
_OBLIGATION_BYTES = 640
_EXPLANATION_FACTOR = 0.5  # per character of its explanation


@dataclass(frozen=True, slots=True)
class Written:
    version: int
    state: TrackState
    texts: dict[FactKey, str]  # each fact's JSON text, as stored
    chars: int | None = None  # the texts' length, when the writer has it (the stored array's)


@dataclass(frozen=True, slots=True)
class Linked:
    version: int
    key: LinkKey
    facts: tuple[Fact, ...]
    texts: dict[FactKey, str]  # each fact's JSON text, as stored
    chars: int | None = None


def footprint(written: Written | Linked) -> int:
    """The estimated bytes a kept track (or link) holds."""
    text = written.chars
    if text is None:
        text = sum(len(t) for t in written.texts.values())
    if isinstance(written, Linked):
        return int(_TRACK_BYTES + _FACT_BYTES * len(written.texts) + _FACT_TEXT_FACTOR * text)
    explained = sum(len(o.explanation) for o in written.state.obligations.values())
    return int(
        _TRACK_BYTES
        + _FACT_BYTES * len(written.texts)
        + _FACT_TEXT_FACTOR * text
        + _OBLIGATION_BYTES * len(written.state.obligations)
        + _EXPLANATION_FACTOR * explained
    )


@dataclass(slots=True)
class TrackCache:
    budget: int = DEFAULT_BUDGET  # bytes, as `footprint` estimates them
    tracks: OrderedDict[_Key, Written | Linked] = field(default_factory=OrderedDict)
    held: int = 0  # bytes of the tracks kept
    _sizes: dict[_Key, int] = field(default_factory=dict)

    def take(self, key: TrackKey, version: int | None) -> Written | None:
        """This process's last write of the track, if the database still holds that write;
        the state is a copy the caller may change."""
        written = self._take(("t", *key), version)
        if not isinstance(written, Written):
            return None
        return Written(written.version, written.state.copy(), written.texts, written.chars)

    def take_linked(self, key: LinkKey, version: int | None) -> Linked | None:
        """This process's last write of the link's facts, if the database still holds it (the
        facts are an immutable tuple: the caller's ledger replaces it, never changes it)."""
        linked = self._take(("l", *key), version)
        return linked if isinstance(linked, Linked) else None

    def _take(self, key: _Key, version: int | None) -> Written | Linked | None:
        written = self.tracks.get(key)
        if written is None or version is None or written.version != version:
            return None
        self.tracks.move_to_end(key)
        return written

    def keep(self, writes: Sequence[Written | Linked]) -> None:
        """The tracks a committed batch wrote, as the most recently used. A batch in flight
        holds copies (`take`), so dropping any track here never changes what it does: a track
        not found is read from the database."""
        for written in writes:
            key: _Key = (
                ("l", *written.key)
                if isinstance(written, Linked)
                else ("t", written.state.rule, written.state.key)
            )
            size = footprint(written)
            self.held += size - self._sizes.get(key, 0)
            self._sizes[key] = size
            self.tracks[key] = written
            self.tracks.move_to_end(key)
        while self.held > self.budget and self.tracks:
            key, _ = self.tracks.popitem(last=False)
            self.held -= self._sizes.pop(key)


_caches: weakref.WeakKeyDictionary[Any, TrackCache] = weakref.WeakKeyDictionary()


def cache_of(session: AsyncSession) -> TrackCache:
    """The cache for the database this session's engine reaches (one per engine)."""
    engine = session.bind.sync_engine if session.bind is not None else session.get_bind()
    return _cache_for(engine)


def set_budget(engine: AsyncEngine, megabytes: float) -> None:
    """Bound the cache of this engine's database to about `megabytes` (FOLLOWUP_CACHE_MB)."""
    cache = _cache_for(engine.sync_engine)
    cache.budget = int(megabytes * MB)
    cache.keep([])  # sheds what a smaller budget no longer holds


def _cache_for(engine: Any) -> TrackCache:
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = TrackCache()
    return cache


def new_version() -> int:
    return secrets.randbits(63)  # fits a signed BIGINT


def written(session: AsyncSession, writes: Sequence[Written | Linked]) -> None:
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
