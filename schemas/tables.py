"""The tables. Every timestamp is timezone-aware; dates are plain calendar dates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from schemas.types import AwareDateTime


def _stamp(**kwargs: Any) -> Any:
    return Field(sa_type=AwareDateTime, **kwargs)


class StaffMember(SQLModel, table=True):
    __tablename__ = "staff"

    staff_id: str = Field(primary_key=True)
    name: str
    email: str
    role: str
    area: str = Field(index=True)
    unit: str | None = None
    line_manager: str | None = None
    left_date: date | None = None  # from this date: no access (docs/contract.md, "Leavers")
    # The `time` of the event that set this row: a later event replaces it, an older one does not.
    event_time: datetime = _stamp()
    # Ties on `time` are broken by the event's source and id, so arrival order never decides.
    event_source: str = Field(default="", sa_column_kwargs={"server_default": ""})
    event_id: str = Field(default="", sa_column_kwargs={"server_default": ""})
    updated_at: datetime = _stamp()


class Case(SQLModel, table=True):
    __tablename__ = "cases"

    urn: str = Field(primary_key=True)
    area: str = Field(index=True)
    unit: str
    owner: str
    event_time: datetime = _stamp()
    event_source: str = Field(default="", sa_column_kwargs={"server_default": ""})
    event_id: str = Field(default="", sa_column_kwargs={"server_default": ""})
    updated_at: datetime = _stamp()


class ReceivedEvent(SQLModel, table=True):
    """Every accepted event once: (source, event_id) is the idempotency key."""

    __tablename__ = "events_received"

    source: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    type: str = Field(index=True)
    time: datetime = _stamp()
    subject: str | None = None
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = _stamp()


class Track(SQLModel, table=True):
    """The facts known about one tracked thing (a hearing, a victim's letter).

    Obligations are derived from the whole set, which is what makes arrival order irrelevant.
    """

    __tablename__ = "tracks"

    rule: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    urn: str | None = Field(default=None, index=True)
    # The opening event's link field value (a recommendation id), for facts that reach the
    # track through it.
    link: str | None = Field(default=None, index=True)
    # The day the passing of time alone changes its obligations (a recurring period begins).
    refresh_on: date | None = Field(default=None, index=True)
    facts: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _stamp()
    # A token new with every write (random, never reused): a consumer holding the facts and
    # obligations of that write in memory need not read them back (services/tracker/cache.py).
    version: int | None = Field(default=None, sa_type=BigInteger)


class LinkedFacts(SQLModel, table=True):
    """Facts that reach a rule's tracks through a link value, kept even before any track has
    it (a follow-up assessment that arrives before the commitment it ends)."""

    __tablename__ = "linked_facts"

    rule: str = Field(primary_key=True)
    link: str = Field(primary_key=True)
    facts: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _stamp()
    # As tracks.version: which write a consumer's in-memory copy is (services/tracker/cache.py).
    version: int | None = Field(default=None, sa_type=BigInteger)


class Obligation(SQLModel, table=True):
    __tablename__ = "obligations"
    __table_args__ = (
        Index("ix_obligations_state_due", "state", "due"),
        # The tracker loads a track's obligations by (rule, key) in every batch.
        Index("ix_obligations_rule_key", "rule", "key"),
        # The weekly summary counts one Area's obligations by due date, rule and state, and its
        # open ones by owner: both read from the index alone (bench/summary.py).
        Index("ix_obligations_area_due", "area", "due", "rule", "state"),
        Index("ix_obligations_area_state_due", "area", "state", "due", "owner"),
        # The lapse clock: open obligations of a rule due in a date range, and what the
        # tracker wrote since its last look.
        Index("ix_obligations_rule_state_due", "rule", "state", "due"),
        Index("ix_obligations_updated_at", "updated_at"),
        # GET /obligations pages national and filtered reads by (due, id) keyset.
        Index("ix_obligations_due_id", "due", "id"),
        # A team's or unit's obligations by owner in due order (GET /obligations, My team,
        # calendar feeds): a few thousand index entries, not the national due order.
        Index("ix_obligations_owner_due", "owner", "due", "id"),
    )

    id: str = Field(primary_key=True)
    # `ob-` and 16 hex digits of the id's SHA-256 (docs/contract.md section 7): what emails,
    # pages and feeds name it by. Indexed: an `ob-` reference is looked up nationally by HQ.
    ref: str = Field(index=True)
    rule: str  # indexed first in (rule, key) and (rule, state, due)
    key: str
    urn: str | None = Field(default=None, index=True)
    owner: str | None = None  # indexed first in (owner, due, id)
    area: str | None = None  # indexed first in the two summary indexes
    opened_by: str
    due: date
    # Stored states are open, met, met-late and cancelled; lapsed is open with due < today.
    state: str
    closed_on: date | None = None
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class ObligationChange(SQLModel, table=True):
    """Each change to an obligation, with the events that caused it: `followup explain`."""

    __tablename__ = "obligation_changes"

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: str = Field(index=True)
    kind: str  # opened, recalculated, closed, cancelled, reopened, updated, removed
    due_before: date | None = None
    due_after: date | None = None
    state_before: str | None = None
    state_after: str | None = None
    closed_on: date | None = None
    caused_by: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = _stamp()


class DeadLetter(SQLModel, table=True):
    """An event that could not be accepted, kept with the reason so nothing is silently lost."""

    __tablename__ = "dead_letters"
    # A conflict's earlier letters for its (source, id) are looked up by it.
    __table_args__ = (Index("ix_dead_letters_event", "event_source", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    # "publish" (a rejected input line), "http" (rejected by POST /events), "stream" (failed
    # in a consumer) or "conflict" (the (source, id) of a stored event with other content:
    # services/tracker/conflicts.py)
    origin: str
    line: int | None = None
    stream_entry_id: str | None = None
    event_source: str | None = None
    event_id: str | None = None
    field: str | None = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    raw: str = Field(sa_column=Column(Text, nullable=False))
    # A conflict's stored content, which stands (`raw` is the content received after it).
    stored: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="dead", index=True)
    received_at: datetime = _stamp()


class AuditEntry(SQLModel, table=True):
    """One link of the tamper-evident trail. Rows are only ever appended (triggers refuse
    UPDATE and DELETE); each row's hash covers its content and the previous row's hash."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity", "entity", "entity_id"),)

    # Assigned by the writer under the chain lock, not by the database, because the hash
    # covers it and must be computed before the insert.
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    entity: str  # recommendation, action, obligation, alert, summary, inspection, ...
    entity_id: str
    action: str
    actor: str
    caused_by: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = _stamp()
    # Canonical JSON text, stored as written so the hash can be recomputed byte for byte.
    detail: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str


class AuditCheckpoint(SQLModel, table=True):
    """A signed record of the audit chain's head (docs/contract.md section 8, "Added: signed
    checkpoints"): only ever appended; the signature covers entries, last_seq, head and
    made_at, and its key lives outside the database."""

    __tablename__ = "audit_checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    entries: int
    last_seq: int
    head: str
    made_at: datetime = _stamp()
    made_by: str
    public_key: str  # hex of the raw Ed25519 public key
    signature: str  # hex


# Inspection follow-up (services/audit/projection.py): what the inspection events say, kept as
# read models. The row of a thing is its latest event by (time, source, id); the records of
# evidence, completion and rating are kept one per event.


class Inspection(SQLModel, table=True):
    __tablename__ = "inspections"

    inspection_id: str = Field(primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    kind: str
    area: str | None = Field(default=None, index=True)
    published_date: date
    ratings: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    event_time: datetime = _stamp()
    event_source: str
    event_id: str
    updated_at: datetime = _stamp()


class Recommendation(SQLModel, table=True):
    __tablename__ = "recommendations"

    recommendation_id: str = Field(primary_key=True)
    inspection_id: str = Field(index=True)
    number: str
    kind: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    area: str | None = None
    due_date: date | None = None
    event_time: datetime = _stamp()
    event_source: str
    event_id: str
    updated_at: datetime = _stamp()


class RecommendationAction(SQLModel, table=True):
    """An action committed in the CPS response to a recommendation."""

    __tablename__ = "recommendation_actions"

    action_id: str = Field(primary_key=True)
    recommendation_id: str = Field(index=True)
    response: str
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner: str
    due_date: date | None = None
    recurrence: str | None = None
    starts: date | None = None
    ends: date | None = None
    event_time: datetime = _stamp()
    event_source: str
    event_id: str
    updated_at: datetime = _stamp()


class ActionEvidence(SQLModel, table=True):
    __tablename__ = "action_evidence"

    source: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    action_id: str = Field(index=True)
    evidence: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str
    recorded_date: date
    event_time: datetime = _stamp()


class ActionCompletion(SQLModel, table=True):
    __tablename__ = "action_completions"

    source: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    action_id: str = Field(index=True)
    completed_date: date
    completed_by: str
    event_time: datetime = _stamp()


class FollowUpRating(SQLModel, table=True):
    __tablename__ = "follow_up_ratings"

    source: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    recommendation_id: str = Field(index=True)
    rating: str
    assessed_by: str
    assessed_date: date
    notes: str | None = Field(default=None, sa_column=Column(Text))
    event_time: datetime = _stamp()


class PublishedSummary(SQLModel, table=True):
    """One weekly summary per scope and week: the unique key is claimed before anything is
    sent, so restarts and several `serve` processes never publish a week twice; the row stays
    `pending` (retried after its lease) until every recipient has it."""

    __tablename__ = "summaries_published"
    __table_args__ = (
        UniqueConstraint("scope_kind", "scope_id", "week", name="uq_summaries_published_scope"),
        Index("ix_summaries_published_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope_kind: str  # area or team
    scope_id: str  # the Area, or the legal manager's staff id
    area: str
    week: str  # ISO week, 2017-W30
    due_at: datetime = _stamp()  # the scheduled London moment it was published for
    status: str = "pending"  # pending, sent
    attempts: int = 0
    lease_until: datetime | None = _stamp(default=None, nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claimed_at: datetime = _stamp()
    sent_at: datetime | None = _stamp(default=None, nullable=True)


class LapseClockState(SQLModel, table=True):
    """The lapse clock's durable cursor: every alarm falling due up to `cursor` has been raised,
    and obligations written up to `scanned_to` (their `updated_at`) have been looked at."""

    __tablename__ = "lapse_clock"

    name: str = Field(primary_key=True)
    # The clock's first start: alarms that fell due before it are history, not news (a
    # back-fill of old events raises none), those after it are raised even if late; but the
    # lapses of obligations open and lapsed at the first start are raised then, once, unless
    # FOLLOWUP_GOING_LIVE=history. The row `summaries` keeps only the summary scheduler's
    # first start (docs/contract.md, sections 7 and 9, "Going live").
    started_at: datetime = _stamp()
    cursor: datetime = _stamp()
    scanned_to: datetime = _stamp()
    updated_at: datetime = _stamp()


class Alarm(SQLModel, table=True):
    """One step (a warning, the lapse, an escalation, a reminder) raised for an obligation's
    due date, once: the tracking stream's obligation-* events and the alerts hang off it."""

    __tablename__ = "alarms"
    __table_args__ = (
        UniqueConstraint("obligation_id", "due", "level", name="uq_alarms_step"),
        Index("ix_alarms_repeat_at", "repeat_at"),
        # Only the alarms whose alerts are still to be recorded: a handful at any time.
        Index(
            "ix_alarms_unalerted",
            "id",
            postgresql_where=text("alerted_at IS NULL"),
            sqlite_where=text("alerted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: str = Field(index=True)
    due: date
    level: str  # warning-N, lapse, escalation-N, repeat-K
    rule: str
    urn: str | None = None
    area: str | None = None
    fell_due_at: datetime = _stamp()
    raised_at: datetime = _stamp()
    # For a lapse: when the next reminder of it falls due while it stays unresolved.
    repeat_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    repeats: int = 0
    # Who hears, routed when the alarm was raised ([staff_id, role, reason] each), and when
    # their alerts go out; the alerts are recorded from these in the next transaction, which
    # sets `alerted_at` (so the tracking stream event need not wait for them).
    recipients: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    deliver_after: datetime = _stamp()
    alerted_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Alert(SQLModel, table=True):
    """One person told about one step of one obligation's due date: recorded (exactly once, by
    its unique key) before anything is sent, then delivered in that person's next digest."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("obligation_id", "due", "level", "recipient", name="uq_alerts_key"),
        Index("ix_alerts_state_deliver_after", "state", "deliver_after"),
        Index("ix_alerts_obligation_due", "obligation_id", "due"),
        Index("ix_alerts_snoozed_until", "snoozed_until"),
        # GET /alerts: newest first within a person's or an Area's scope, a page by key.
        Index("ix_alerts_recipient_id", "recipient", "id"),
        Index("ix_alerts_area_id", "area", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    obligation_id: str
    obligation_ref: str  # what alerts carry instead of the id, which holds victim/defendant ids
    due: date
    level: str
    recipient: str  # staff id
    role: str  # the role the recipient holds for this obligation (owner, legal-manager, ...)
    reason: str | None = None  # why it went to someone other than the role asked for
    rule: str
    urn: str | None = None
    area: str | None = None
    fell_due_at: datetime = _stamp()
    raised_at: datetime = _stamp()
    deliver_after: datetime = _stamp()
    state: str = "pending"  # pending, queued (in a digest), sent, undeliverable, withdrawn
    digest_id: int | None = Field(default=None, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = Field(default=None, sa_type=AwareDateTime)
    snoozed_by: str | None = None
    snooze_reason: str | None = Field(default=None, sa_column=Column(Text))


class Digest(SQLModel, table=True):
    """One message per recipient per slot, listing each obligation once."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("recipient", "slot", name="uq_digests_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    recipient: str
    slot: datetime = _stamp()
    created_at: datetime = _stamp()
    # pending until no channel is pending; then sent (a channel took it) or failed (none did)
    state: str = "pending"
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Delivery(SQLModel, table=True):
    """A digest on one channel, retried with backoff until it goes: never dropped."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "channel", name="uq_deliveries_channel"),
        Index("ix_deliveries_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    digest_id: int
    channel: str  # email, webhook
    state: str = "pending"  # pending, sent, failed (address refused: never retried)
    attempts: int = 0
    next_attempt_at: datetime = _stamp()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class TrackingEvent(SQLModel, table=True):
    """The outbox of the tracking stream: written in the transaction that decides the event,
    published (XADD) afterwards and retried until Redis takes it."""

    __tablename__ = "tracking_outbox"
    __table_args__ = (Index("ix_tracking_outbox_state_next", "state", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True)
    type: str
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the entry, as sent
    state: str = "pending"  # pending, sent
    attempts: int = 0
    next_attempt_at: datetime = _stamp()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _stamp()
    sent_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class Credential(SQLModel, table=True):
    """A secret someone signs in or calls the API with, stored only as its SHA-256: an emailed
    sign-in link, a browser session, an API token or a calendar feed (docs/contract.md section
    12). Revoked or expired rows stay, so `followup tokens list` can say what happened."""

    __tablename__ = "credentials"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(unique=True)
    kind: str  # sign-in-link, session, api-token, calendar-feed
    staff_id: str | None = Field(default=None, index=True)  # None: a system's token
    system: str | None = None
    scope: str  # staff, read, publish
    label: str = ""
    # A session's CSRF token (docs/contract.md section 12): every form posts it back.
    csrf: str | None = None
    created_at: datetime = _stamp()
    expires_at: datetime | None = _stamp(default=None, nullable=True)
    used_at: datetime | None = _stamp(default=None, nullable=True)
    revoked_at: datetime | None = _stamp(default=None, nullable=True)


class BackfillFile(SQLModel, table=True):
    """`followup backfill`'s durable cursor for one input file, written in the transaction of
    each batch it loads, so a stop at any moment neither skips nor doubles a line
    (docs/contract.md section 6, "Added: backfill")."""

    __tablename__ = "backfill_files"

    # sha256 of the file's size and its first MiB: the same file, wherever it is kept.
    file_key: str = Field(primary_key=True)
    path: str
    size: int = Field(sa_type=BigInteger)
    lines_done: int = Field(sa_type=BigInteger)  # every line up to this one is loaded or kept
    byte_offset: int = Field(sa_type=BigInteger)  # the byte after line `lines_done`
    loaded: int = Field(sa_type=BigInteger)  # events first recorded by this backfill
    duplicates: int = Field(sa_type=BigInteger)  # events already recorded (or twice in the file)
    rejected: int = Field(sa_type=BigInteger)  # lines kept as dead letters (origin `backfill`)
    started_at: datetime = _stamp()
    updated_at: datetime = _stamp()
    finished_at: datetime | None = _stamp(default=None, nullable=True)
