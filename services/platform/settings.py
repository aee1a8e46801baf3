"""Every setting Followup reads, in one place, read once and passed in."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from events.inspection import DEFAULT_RATINGS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FOLLOWUP_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("var"), description="Where the embedded database and Redis live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default a SQLite file in the data directory."
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL; default an embedded server kept in the data directory.",
    )
    namespace: str = Field(
        default="followup",
        description="Prefix of every Redis key, so deployments or test runs can share a server.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8040
    log_level: str = "INFO"
    # Stream entries read, applied in one transaction and acknowledged together. Each batch
    # has a fixed cost (a dozen statements, a commit, the acknowledgement), so larger batches
    # were faster end to end on both databases (BENCHMARKS.md, "default batch size"). A batch
    # is a limit: a quiet stream delivers smaller ones.
    batch_size: int = Field(default=1000, ge=1, le=10_000)
    # `serve` reads each batch's events in a helper process, on another core, while its event
    # loop applies the batch before (services.tracker.decoding); off, on the event loop.
    decode_helper: bool = True
    # An entry pending this long is taken over by another worker's reclaimer (a crashed or
    # stuck worker, or a failed entry due another try): longer than any batch takes.
    reclaim_idle_ms: int = Field(default=60_000, ge=100)
    reclaim_every: float = Field(default=5.0, gt=0, description="Seconds between reclaim runs.")
    # An event larger than this is refused with its size (docs/contract.md, section 6,
    # "Added: publish, resumable and bounded"), by `publish` and by the consumer, rather than
    # read whole.
    max_event_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest event accepted, in bytes (1 MB)."
    )
    # Deliveries after which an entry that keeps failing goes to the dead-letter store.
    max_deliveries: int = Field(default=5, ge=1)
    # How often `serve` re-derives recurring commitments so periods open as they begin.
    refresh_seconds: float = Field(default=300.0, gt=0)
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for email; unset, messages are written to <data_dir>/outbox.",
    )
    smtp_port: int = 25
    smtp_sender: str = "followup@localhost"
    smtp_timeout: float = Field(default=10.0, gt=0)
    rule_pack: Path | None = Field(
        default=None, description="An Area's own rule pack (YAML) replacing the shipped default."
    )
    # Weekly summaries (docs/contract.md, section 9): published on this Europe/London weekday
    # and time of each week.
    summary_schedule: bool = Field(
        default=True, description="`serve` publishes each week's summaries by email."
    )
    summary_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "friday"
    summary_time: time = time(16, 0)
    summary_catch_up_weeks: int = Field(
        default=4, ge=0, le=52, description="Past weeks published after downtime, at most."
    )
    summary_check_seconds: float = Field(default=60.0, gt=0)
    summary_retry_seconds: float = Field(
        default=300.0, gt=0, description="A failed delivery is tried again after this long."
    )

    # Follow-up rating words (a convention, not a published scale): comma-separated in the
    # environment; an assessment with any other word is refused with the list in the reason.
    ratings: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_RATINGS, description="Follow-up ratings accepted, comma-separated."
    )

    @field_validator("ratings", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            value = [word.strip() for word in value.split(",") if word.strip()]
        if isinstance(value, list | tuple):
            value = list(dict.fromkeys(value))  # a word named twice is listed once in errors
        if isinstance(value, list | tuple) and not value:
            raise ValueError("name at least one rating")
        return value

    # The lapse clock and alerts (services/lapse, services/alerts).
    alerts_enabled: bool = Field(
        default=True, description="`serve` runs the lapse clock and alert delivery."
    )
    checkpoint_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often `serve` on SQLite copies the write-ahead log back into the "
        "database file (services/checkpoints.py).",
    )
    lapse_tick_seconds: float = Field(
        default=1.0, gt=0, description="How often the clock looks for newly written obligations."
    )
    lapse_scan_margin_seconds: float = Field(
        default=10.0,
        ge=0,
        description="Obligations written this long before the last look are read again, so a "
        "tracker transaction that committed late is never missed.",
    )
    alert_hours: str = Field(
        default="09:00-17:00", description="Working hours (Europe/London, working days)."
    )
    alert_digest_minutes: int = Field(
        default=60, ge=1, description="One digest per recipient per this many minutes."
    )
    alert_repeat_days: int = Field(
        default=5, ge=0, description="Working days between reminders of an unresolved lapse."
    )
    alert_webhook_url: str | None = Field(
        default=None, description="Digests are also POSTed here as JSON when set."
    )
    alert_delivery_seconds: float = Field(default=5.0, gt=0)
    alert_retry_seconds: float = Field(
        default=30.0, gt=0, description="First retry of a failed channel; doubles each time."
    )
    alert_retry_max_seconds: float = Field(default=3600.0, gt=0)

    # Retention and bounded memory (docs/contract.md, section 11, "Retention and bounded
    # memory"): what `serve` trims and purges every `retention_check_seconds`; 0 keeps forever.
    stream_retention_hours: float = Field(
        default=24.0,
        ge=0,
        description="Applied entries of the events stream are trimmed after this many hours "
        "(events_received is the durable record); never one a consumer group has not "
        "acknowledged.",
    )
    tracking_retention_hours: float = Field(
        default=168.0,
        ge=0,
        description="Entries of the tracking stream are trimmed after this many hours, read "
        "or not: integrators must read within it.",
    )
    dead_letter_retention_days: float = Field(
        default=90.0, ge=0, description="Replayed or discarded dead letters are purged after this."
    )
    dead_letter_unresolved_retention_days: float = Field(
        default=365.0, ge=0, description="Dead letters still `dead` are purged after this."
    )
    outbox_retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Sent rows of the tracking outbox and sent deliveries of sent digests are "
        "purged after this.",
    )
    retention_check_seconds: float = Field(default=300.0, gt=0)
    cache_mb: float = Field(
        default=64.0,
        gt=0,
        description="Memory, estimated, of the tracks a consumer keeps so as not to read "
        "them back; the least recently used go first.",
    )

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return _async_driver(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'followup.db').resolve()}"

    @property
    def events_stream(self) -> str:
        return f"{self.namespace}:events"

    @property
    def tracker_group(self) -> str:
        return f"{self.namespace}:tracker"

    @property
    def tracking_stream(self) -> str:
        """Outbound: obligation-warning, -lapsed, -escalated, -met, alert-sent and
        summary-published events."""
        return f"{self.namespace}:tracking"


def _async_driver(url: str) -> str:
    """Accept the plain URLs people paste (postgresql://, sqlite://) and pick the async driver."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
