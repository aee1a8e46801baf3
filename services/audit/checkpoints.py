"""Signed checkpoints of the audit chain (docs/contract.md section 8, "Added: signed
checkpoints"): the head hash, the entry count and the last entry's number, signed with an
Ed25519 key kept outside the database, stored, and published on the tracking stream. A chain
checked against one shows entries cut off the end (fewer entries than it signed) and a chain
recomputed from an edited entry onward (the entry it signed no longer has its hash)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from events.outbound import AUDIT_SOURCE, AuditCheckpointed, outbound_event
from schemas.tables import AuditCheckpoint, AuditEntry
from services.platform.audit_key import public_hex, sign_bytes, signature_ok
from services.platform.audit_trail import ChainCheck, canonical, verify_chain
from services.platform.outbox import add_events


class ChainNotSigned(RuntimeError):
    """The chain is broken, or no longer what the latest checkpoint signed: nothing is signed
    over it (a rewritten chain must not get a fresh checkpoint)."""


class CheckpointUnreadable(ValueError):
    """A checkpoint file that is not one; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What other code (weekly and monthly packs) includes: the latest is `latest_checkpoint`."""

    id: int | None
    entries: int
    last_seq: int
    head: str
    made_at: datetime
    made_by: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return signed_message(
            entries=self.entries, last_seq=self.last_seq, head=self.head, made_at=self.made_at
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoint_id": self.id,
            "entries": self.entries,
            "last_seq": self.last_seq,
            "head": self.head,
            "made_at": _instant(self.made_at),
            "made_by": self.made_by,
            "public_key": self.public_key,
            "signature": self.signature,
        }


def signed_message(*, entries: int, last_seq: int, head: str, made_at: datetime) -> bytes:
    """The bytes signed: canonical JSON of the four fields (section 8)."""
    body = {"entries": entries, "head": head, "last_seq": last_seq, "made_at": _instant(made_at)}
    return canonical(body).encode()


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _of(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(
        row.id,
        row.entries,
        row.last_seq,
        row.head,
        row.made_at,
        row.made_by,
        row.public_key,
        row.signature,
    )


async def make_checkpoint(
    *,
    session: AsyncSession,
    key: Ed25519PrivateKey,
    actor: str,
    now: datetime,
    only_if_grown: bool = False,
) -> Checkpoint | None:
    """Verify the whole chain, then sign and store its head and add the `audit-checkpointed`
    event to the tracking outbox, in the caller's transaction (publish with `flush_outbox`
    after commit). `only_if_grown`: None when the latest checkpoint already signs this head."""
    latest = await latest_checkpoint(session=session)
    chain = await verify_chain(session=session, after=await _sound_start(session, latest, key))
    if not chain.ok:
        raise ChainNotSigned(
            f"the audit chain is broken at entry {chain.first_broken} ({chain.reason}); "
            "no checkpoint was signed"
        )
    if (
        only_if_grown
        and latest is not None
        and (latest.last_seq, latest.head)
        == (
            chain.entries,
            chain.head,
        )
    ):
        return None
    made_at = now.astimezone(UTC)
    message = signed_message(
        entries=chain.entries, last_seq=chain.entries, head=chain.head, made_at=made_at
    )
    row = AuditCheckpoint(
        entries=chain.entries,
        last_seq=chain.entries,  # entries are numbered from 1 without gaps in a sound chain
        head=chain.head,
        made_at=made_at,
        made_by=actor,
        public_key=public_hex(key),
        signature=sign_bytes(key, message),
    )
    session.add(row)
    await session.flush()
    found = _of(row)
    assert found.id is not None
    event = outbound_event(
        event_id=f"audit-checkpointed:{found.id}",
        source=AUDIT_SOURCE,
        time=made_at,
        data=AuditCheckpointed(
            checkpoint_id=found.id,
            entries=found.entries,
            last_seq=found.last_seq,
            head=found.head,
            made_at=_instant(made_at),
            public_key=found.public_key,
            signature=found.signature,
        ),
    )
    await add_events(session=session, events=[event], now=now)
    return found


async def _sound_start(
    session: AsyncSession, latest: Checkpoint | None, key: Ed25519PrivateKey
) -> tuple[int, str] | None:
    """Where a new checkpoint's verification may start: after the latest checkpoint's last
    entry, when that checkpoint is ours and its signature holds (None: the whole chain). If
    the trail no longer holds what it signed, nothing is signed: ChainNotSigned."""
    if latest is None or latest.public_key != public_hex(key):
        return None
    if not signature_ok(key.public_key(), latest.message(), latest.signature):
        return None
    stored = await session.get(AuditEntry, latest.last_seq)
    if stored is None or stored.hash != latest.head:
        raise ChainNotSigned(
            f"the audit trail no longer holds what checkpoint {latest.id} signed (entry "
            f"{latest.last_seq} {'is gone' if stored is None else 'hashes otherwise'}): "
            "truncated or rewritten; no checkpoint was signed"
        )
    return (latest.last_seq, latest.head)


async def latest_checkpoint(*, session: AsyncSession) -> Checkpoint | None:
    """The latest signed checkpoint, for a pack to print (None before the first)."""
    statement = select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)
    row = (await session.execute(statement)).scalars().first()
    return _of(row) if row else None


async def find_checkpoint(*, session: AsyncSession, checkpoint_id: int) -> Checkpoint | None:
    row = await session.get(AuditCheckpoint, checkpoint_id)
    return _of(row) if row else None


def checkpoint_from_json(text: str) -> Checkpoint:
    """A checkpoint as `followup audit checkpoint --json` prints it, or an `audit-checkpointed`
    event (whole, or its data)."""
    try:
        found = json.loads(text)
        if isinstance(found, dict) and isinstance(found.get("data"), dict):
            found = found["data"]
        return Checkpoint(
            found.get("checkpoint_id"),
            int(found["entries"]),
            int(found["last_seq"]),
            str(found["head"]),
            datetime.fromisoformat(found["made_at"]),
            str(found.get("made_by", "")),
            str(found["public_key"]),
            str(found["signature"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CheckpointUnreadable(f"not a checkpoint: {error!r}") from None


@dataclass(frozen=True, slots=True)
class CheckpointCheck:
    checkpoint: Checkpoint
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


async def check_checkpoint(
    *,
    session: AsyncSession,
    checkpoint: Checkpoint,
    public: Ed25519PublicKey,
    chain: ChainCheck,
) -> CheckpointCheck:
    """The signature, with our public key; then the chain against what it signed."""
    problems: list[str] = []
    if not signature_ok(public, checkpoint.message(), checkpoint.signature):
        problems.append("its signature does not verify with the audit public key")
    if checkpoint.public_key != public_hex(public):
        problems.append("it names a public key that is not this service's")
    if chain.entries < checkpoint.last_seq:
        if chain.ok:
            problems.append(
                f"the trail was truncated: {chain.entries} entries now, the checkpoint "
                f"signed {checkpoint.entries} (entries {chain.entries + 1} to "
                f"{checkpoint.last_seq} are gone)"
            )
        else:
            problems.append(
                f"the chain breaks at entry {chain.first_broken}, before the checkpoint's last "
                f"entry {checkpoint.last_seq}"
            )
        return CheckpointCheck(checkpoint, tuple(problems))
    stored = await session.get(AuditEntry, checkpoint.last_seq)
    if stored is None or stored.hash != checkpoint.head:
        problems.append(
            f"the chain was rewritten: entry {checkpoint.last_seq} now hashes to "
            f"{stored.hash if stored else 'nothing'}, the checkpoint signed {checkpoint.head}"
        )
    return CheckpointCheck(checkpoint, tuple(problems))
