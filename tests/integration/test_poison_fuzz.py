"""Poison mixed into real traffic, through real Redis Streams and the consumer, on both databases.

A few hundred entries are XADDed straight to the stream in a seeded random order: valid events
(each opening an obligation), resent duplicates, and poison made by the mutation catalogue of
tests/unit/test_decoder_fuzz.py (NUL, lone surrogates, invalid UTF-8, 1 MB strings, cut JSON,
odd dataversions...). Whatever each entry holds, it must end exactly once: applied, or in the
dead-letter store, and nothing may stay pending. (A valid mutation that keeps an applied
event's source and id with other content ends as a duplicate, kept as a conflict.)
"""

from __future__ import annotations

import asyncio
import json
import random
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from events import ALL_TYPES, Event, EventRejected, parse_event
from schemas.tables import DeadLetter, ReceivedEvent
from services.tracker.dead_letters import CONFLICT
from tests.factories import hearing, letter_due
from tests.integration.conftest import Pipeline
from tests.unit.test_decoder_fuzz import (
    EVENT,
    NAMED_EITHER,
    NAMED_POISON,
    NAMED_VALID,
    RandomChooser,
    mutated,
    strings_in,
    wire,
)

pytestmark = pytest.mark.integration

SEED = 20240503
VALID, DUPLICATES, GENERATED = 150, 12, 160
# No progress for this long and the pipeline counts as stuck. A batch is acknowledged only
# once every entry in it is settled, and a batch full of poison is split into many small
# transactions: on two loaded cores (the suite's four processes) that has taken over 10 s.
STALL_SECONDS = 40.0
WITHIN_SECONDS = 120.0


@dataclass
class Mix:
    fields: list[dict[bytes, bytes]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    valid_keys: set[tuple[str, str]] = field(default_factory=set)
    poison: list[int] = field(default_factory=list)  # indexes into fields
    obligation_ids: set[str] = field(default_factory=set)

    def add(self, label: str, fields: dict[bytes, bytes], *, opens: str | None = None) -> None:
        """Classify with parse_event, the contract's own judge of valid and poison."""
        self.fields.append(fields)
        self.labels.append(label)
        try:
            payload = fields.get(EVENT)
            if payload is None:
                raise EventRejected(None, "no event field")
            event = parse_event(payload)
        except EventRejected:
            self.poison.append(len(self.fields) - 1)
            assert opens is None, f"{label} was meant to be valid"
            return
        self.valid_keys.add(event.key)
        if opens:
            self.obligation_ids.add(opens)


def valid_events(count: int) -> list[tuple[bytes, str]]:
    """Events that each open one obligation: (payload, obligation id)."""
    made = []
    for n in range(count):
        urn, day = f"FZ{n:04d}", f"2018-02-{1 + n % 20:02d}"
        if n % 2:
            raw = letter_due(day, urn=urn, victim_id=f"V{n}")
            opens = f"victim-letter/{urn}/V{n}"
        else:
            raw = hearing("held", day, time=f"{day}T17:00:00+00:00", urn=urn, hearing_id=f"H{n}")
            opens = f"hearing-record-sheet/{urn}/H{n}"
        raw["id"] = f"valid-{n}"  # not the factories' process-wide counter: reproducible
        made.append((json.dumps(raw).encode(), opens))
    return made


def tame(event: Event) -> bool:
    """A mutated event that stayed valid, kept only if it is ordinary enough that a failure
    would be news: the hazards below have their own parametrizations."""
    declared = event.data.model_dump(exclude=set(event.data.model_extra or {}))
    envelope = event.model_dump(exclude={"data"})
    short = all(len(s) <= 200 for s in strings_in([envelope, declared]))
    days = [v for v in [event.time, *declared.values()] if isinstance(v, date | datetime)]
    return short and all(2010 <= day.year <= 2030 for day in days)


def formerly_crashing() -> dict[str, bytes]:
    """Accepted by parse_event once, then failed the consumer's transaction on every delivery
    (fixed in bb064bc and 5ae7d88 by refusing them at the door; applied would do as well)."""

    def made(type_name: str, number: int, **changes: Any) -> bytes:
        raw = wire(type_name, 900 + number)
        for name, value in changes.items():
            (raw if name in ("time", "source") else raw["data"])[name] = value
        return json.dumps(raw).encode()

    return {
        "nul-in-urn": made("victim-letter-due", 1, urn="NUL\x00URN"),
        "nul-in-source": made("case-registered", 2, source="/cms/\x00"),
        "lone-surrogate-in-staff-name": made("staff-updated", 3, name="Ada \udc80"),
        "lone-surrogate-in-nested-key": made("hearing-updated", 4, notes={"\ud800": 1}),
        "date-9999-12-31": made("victim-letter-due", 5, decision_date="9999-12-31"),
        "ctl-9999-12-31": made("custody-time-limit-set", 6, custody_start="9999-12-31"),
        "time-year-1": made("hearing-updated", 7, time="0001-01-01T00:00:00+01:00"),
        "float-overflow": made("hearing-updated", 8).replace(b'"status"', b'"x": 1e400, "status"'),
    }


def build_mix(seed: int, hazard: str | None) -> Mix:
    rng = random.Random(seed)
    chooser = RandomChooser(rng)
    mix = Mix()
    valid = valid_events(VALID)
    for n, (payload, opens) in enumerate(valid):
        mix.add(f"valid-{n}", {EVENT: payload}, opens=opens)
    for n in range(DUPLICATES):
        payload, _ = rng.choice(valid)
        mix.add(f"duplicate-{n}", {EVENT: payload})
    for named in (NAMED_POISON, NAMED_VALID, NAMED_EITHER, formerly_crashing()):
        for name, payload in named.items():
            mix.add(f"named-{name}", {EVENT: payload})
    mix.add("no-event-field", {b"something": b"else"})
    mix.add("event-field-misspelt", {b"Event": valid[0][0]})
    mix.add("binary-field-names", {b"\xff\xfe": b"\x00\xff", b"\x00": b"\xed\xa0\x80"})
    mix.add("extra-fields", {EVENT: json.dumps(wire("case-registered")).encode(), b"\xff": b"1"})
    made = 0
    while made < GENERATED:
        type_name = chooser.choice(ALL_TYPES)
        base = wire(type_name)
        base["id"] = f"mutant-{made}"
        if "urn" in base["data"]:
            base["data"]["urn"] = f"MU{made:04d}"
        payload = mutated(chooser, base)
        try:
            if not tame(parse_event(payload)):
                continue
        except EventRejected:
            pass
        mix.add(f"mutant-{made}-{type_name}", {EVENT: payload})
        made += 1
    if hazard == "long-keys":
        # Refused at the door since the length limits (200 for ids, 1000 for source): before
        # them, PostgreSQL's btree refused the index row on every delivery.
        for name, raw, _opens in long_key_events(rng):
            mix.add(f"long-key-{name}", {EVENT: json.dumps(raw).encode()})
    order = list(range(len(mix.fields)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    mix.fields = [mix.fields[i] for i in order]
    mix.labels = [mix.labels[i] for i in order]
    mix.poison = sorted(where[i] for i in mix.poison)
    return mix


def long_key_events(rng: random.Random) -> list[tuple[str, dict[str, Any], str]]:
    """Keys of a few kB that no compression shrinks, where PostgreSQL's btree refuses index rows
    over 2,704 bytes: now refused by parse_event with a reason, on both databases."""

    def noise(size: int) -> str:
        return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(size))

    urn, hearing_id = noise(3000), noise(3000)
    return [
        (
            "urn",
            {**letter_due("2018-02-01", urn=urn, victim_id="V1"), "id": "long-urn"},
            f"victim-letter/{urn}/V1",
        ),
        (
            "hearing_id",
            hearing(
                "held",
                "2018-02-01",
                time="2018-02-01T17:00:00Z",
                hearing_id=hearing_id,
                id_="long-hearing-id",
            ),
            f"hearing-record-sheet/43TC0000117/{hearing_id}",
        ),
        (
            "source",
            {
                **letter_due("2018-02-02", urn="LONGSRC"),
                "id": "long-source",
                "source": "/" + noise(3000),
            },
            "victim-letter/LONGSRC/V1",
        ),
    ]


async def xadd_all(pipeline: Pipeline, mix: Mix) -> list[bytes]:
    stream = pipeline.runtime.settings.events_stream
    async with pipeline.redis.pipeline(transaction=False) as pipe:
        for fields in mix.fields:
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
        return list(await pipe.execute())


async def wait_until_quiet(pipeline: Pipeline) -> tuple[dict[str, Any], float]:
    """The status once lag is 0, or once it has not moved for STALL_SECONDS (stuck)."""
    started = last_change = time.monotonic()
    seen: tuple[int, int] | None = None
    while True:
        status = await pipeline.status()
        now = time.monotonic()
        if (
            status["lag"] == 0
            or now - last_change > STALL_SECONDS
            or now - started > WITHIN_SECONDS
        ):
            return status, now - started
        if (status["lag"], status["dead_letters"]) != seen:
            seen, last_change = (status["lag"], status["dead_letters"]), now
        await asyncio.sleep(0.1)


async def stuck_entries(pipeline: Pipeline, labels: dict[bytes, str]) -> list[str]:
    settings = pipeline.runtime.settings
    pending = await pipeline.redis.xpending_range(
        settings.events_stream, settings.tracker_group, min="-", max="+", count=1000
    )
    errors = await pipeline.redis.hgetall(f"{settings.namespace}:failures")
    described = []
    for entry in pending:
        entry_id = entry["message_id"]
        error = errors.get(entry_id, b"(no error recorded)").decode("utf-8", "replace")
        described.append(f"{entry_id.decode()} {labels.get(entry_id, '?')}: {error[:300]}")
    return described


async def run_mix(pipeline: Pipeline, mix: Mix) -> None:
    ids = await xadd_all(pipeline, mix)
    labels = dict(zip(ids, mix.labels, strict=True))
    status, seconds = await wait_until_quiet(pipeline)
    problems: list[str] = []
    if status["lag"]:
        stuck = await stuck_entries(pipeline, labels)
        problems.append(f"lag {status['lag']} after {seconds:.0f}s; pending entries:")
        problems.extend(f"  {line}" for line in stuck)
    async with pipeline.runtime.sessions() as session:
        received = await session.scalar(select(func.count()).select_from(ReceivedEvent))
        letters = (
            await session.execute(
                select(DeadLetter.stream_entry_id, DeadLetter.reason).where(
                    DeadLetter.origin != CONFLICT
                )
            )
        ).all()
        conflicts = (
            await session.execute(
                select(DeadLetter.event_source, DeadLetter.event_id).where(
                    DeadLetter.origin == CONFLICT
                )
            )
        ).all()
    if received != len(mix.valid_keys):
        problems.append(f"{received} events received, expected {len(mix.valid_keys)}")
    lettered = Counter(entry_id for entry_id, _ in letters)
    poison = {ids[i].decode(): mix.labels[i] for i in mix.poison}
    if missing := sorted(poison[i] for i in set(poison) - set(lettered)):
        problems.append(f"poison without a dead letter: {missing}")
    if twice := sorted(labels.get(i.encode(), i) for i, n in lettered.items() if n > 1):
        problems.append(f"dead-lettered more than once: {twice}")
    if wrongly := sorted(labels.get(i.encode(), i) for i in set(lettered) - set(poison)):
        reasons = {labels.get(i.encode(), i): r[:200] for i, r in letters if i not in poison}
        problems.append(f"valid entries dead-lettered: {wrongly} {reasons}")
    if stray := [tuple(key) for key in conflicts if tuple(key) not in mix.valid_keys]:
        problems.append(f"conflicts of events never applied: {stray}")
    if empty := [i for i, reason in letters if not (reason or "").strip()]:
        problems.append(f"dead letters without a reason: {empty}")
    found = await pipeline.obligations(date(2018, 3, 1))
    if absent := sorted(mix.obligation_ids - set(found)):
        problems.append(f"{len(absent)} obligations missing, e.g. {absent[:5]}")
    assert not problems, "\n".join(problems)
    assert status["dead_letters"] == len(mix.poison) + len(conflicts)
    assert status["conflicts"] == len(conflicts)


def test_the_mix_is_what_it_says() -> None:
    mix = build_mix(SEED, None)
    assert len(mix.fields) > 300
    assert len(mix.poison) > 150
    assert len(mix.obligation_ids) == VALID
    labels = [mix.labels[i] for i in mix.poison]
    kinds = ("nul", "lone-surrogate", "megabyte", "invalid-utf8", "deep-1000", "9999", "year-1")
    for kind in kinds:
        assert any(kind in label for label in labels), kind
    assert build_mix(SEED, None).fields == mix.fields  # reproducible from the seed


@pytest.mark.parametrize(
    ("hazard", "database_url"),
    [
        pytest.param(None, "sqlite", id="sqlite"),
        pytest.param(None, "postgresql", id="postgresql"),
        pytest.param("long-keys", "sqlite", id="long-keys-sqlite"),
        pytest.param("long-keys", "postgresql", id="long-keys-postgresql"),
    ],
    indirect=["database_url"],
)
async def test_every_entry_is_applied_or_dead_lettered_exactly_once(
    pipeline: Pipeline, hazard: str | None, database_url: str
) -> None:
    await run_mix(pipeline, build_mix(SEED, hazard))
