"""Every setting Followup reads, in one place, read once and passed in."""

from __future__ import annotations

from datetime import time
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from events.inspection import DEFAULT_RATINGS
from services.platform.broker.sentinel_url import sentinel_target


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
        description="Redis URL (redis://, rediss://, unix://, or redis+sentinel://sentinel:26379"
        ",.../MASTER[/DB] through Sentinel); default an embedded server kept in the data "
        "directory.",
    )
    namespace: str = Field(
        default="followup",
        description="Prefix of every Redis key, so deployments or test runs can share a server.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8040
    # Where people reach the service (docs/contract.md sections 10 and 12): links in emails
    # (sign-in, acting on an alert, calendar feeds) are built on it; https:// marks the session
    # cookie Secure, turns on Strict-Transport-Security, and its host is allowed.
    # Unset: http://HTTP_HOST:HTTP_PORT.
    public_url: str | None = Field(
        default=None, description="Base URL people open, e.g. https://followup.example.gov.uk."
    )
    # Signs email action links and keys nothing else; every process behind one public URL must
    # share it. Unset: a random key kept in <data_dir>/secret.key (0600), made on first use.
    secret_key: SecretStr | None = Field(
        default=None, description="Key signing email links; default <data_dir>/secret.key."
    )
    # Signs audit checkpoints (docs/contract.md section 8, "Added: signed checkpoints"): an
    # Ed25519 private key kept outside the database, made (0600) on first use.
    audit_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key signing audit checkpoints; default <data_dir>/audit-signing.key.",
    )
    audit_checkpoint_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds between serve's signed audit checkpoints (when it grew); 0: never.",
    )
    # The Area page and weekly summaries over HTTP serve a summary made this recently again
    # while no obligation or staff row has changed since (services/summaries/recent.py).
    summary_cache_seconds: float = Field(
        default=60.0, ge=0, description="Seconds a page's weekly summary is served again; 0: never."
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="How long a browser session lasts after sign-in."
    )
    token_days: int = Field(
        default=90, ge=1, description="Default lifetime of an API token or calendar feed."
    )
    # The HTTP shell (docs/contract.md, section 10, "Hardening"): what a request may hold,
    # how often one caller may ask, which Host names it may be addressed by, and where it is
    # published.
    http_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Host header values accepted, comma-separated (`*.example.org`, `*` for "
        "any); empty: the bind address, localhost, 127.0.0.1 and the public URL's host.",
    )
    http_forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For/-Proto are believed (uvicorn's "
        "forwarded_allow_ips), comma-separated.",
    )
    http_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body, in bytes (1 MB)."
    )
    http_max_batch_items: int = Field(
        default=1000, ge=1, description="Most items in any JSON array of a request body."
    )
    http_max_string_chars: int = Field(
        default=10_000, ge=16, description="Longest JSON string (value or key) of a request."
    )
    http_rate_limit: str = Field(
        default="600/minute",
        description="Requests per caller (API token, else session, else address) in the "
        "notation of the `limits` library: `600/minute`, `20/second;600/minute`.",
    )
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
    smtp_sender: str = Field(
        default="followup@localhost", description="The From address of every message."
    )
    smtp_timeout: float = Field(default=10.0, gt=0)
    # docs/contract.md, section 11, "Mail: one recipient, one plain address": TLS checks the
    # server's certificate against the system's authorities, or `smtp_ca_file` when set.
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        default="none",
        description="none (plain SMTP), starttls (upgrade, refused if the server cannot) or "
        "ssl (TLS from the first byte, usually port 465).",
    )
    smtp_username: str | None = Field(default=None, description="Log in to the SMTP server.")
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = Field(
        default=None, description="Certificate authorities (PEM) trusted for the SMTP server."
    )
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
    # Monthly and quarterly packs (docs/contract.md section 9), on the weekly switch.
    pack_working_day: int = Field(
        default=1, ge=1, le=10, description="Packs go on this working day after the period."
    )
    pack_time: time = time(9, 0)
    pack_catch_up_months: int = Field(
        default=2, ge=0, le=12, description="Past months' packs published after downtime."
    )
    summary_retry_seconds: float = Field(
        default=300.0, gt=0, description="A failed delivery is tried again after this long."
    )
    # Trials that did not proceed for prosecution reasons (docs/contract.md section 9, "Added:
    # trials not proceeding"): the published national rates, in per cent, that an Area's is
    # judged against. Unconfirmed: no figure in the seed reports; unset, the rate measured over
    # every Area Followup holds stands in.
    trials_national_magistrates_pct: float | None = Field(
        default=None, ge=0, le=100, description="National magistrates' rate, per cent."
    )
    trials_national_crown_pct: float | None = Field(
        default=None, ge=0, le=100, description="National Crown Court rate, per cent."
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

    @field_validator("http_allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [host.strip().lower() for host in value.split(",") if host.strip()]
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            sentinel_target(value)  # a Sentinel URL missing its sentinels or master is refused
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not (
            urlsplit(value).scheme in ("http", "https") and urlsplit(value).hostname
        ):
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("http_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must be a rate such as 600/minute or 20/second;600/minute") from None
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
    # docs/contract.md, section 7, "Going live": what the clock's first start does with
    # obligations already lapsed.
    going_live: Literal["alert", "history"] = Field(
        default="alert",
        description="At the lapse clock's first start, `alert` raises the lapse of every open "
        "obligation already lapsed, once; `history` treats them as history (no alerts).",
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

    # Traces (docs/contract.md, section 11, "Added: traces"): where they go is OpenTelemetry's
    # own OTEL_EXPORTER_OTLP_* variables.
    otel_enabled: bool = Field(
        default=False,
        description="Trace the stream consumers with OpenTelemetry (needs the `otel` extra).",
    )

    @model_validator(mode="after")
    def _otel_installed(self) -> Settings:
        if self.otel_enabled and not _installed("opentelemetry.sdk"):
            raise ValueError(
                "FOLLOWUP_OTEL_ENABLED needs the otel extra: pip install 'followup[otel]'"
            )
        return self

    @model_validator(mode="after")
    def _login_over_tls_only(self) -> Settings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "set both FOLLOWUP_SMTP_USERNAME and FOLLOWUP_SMTP_PASSWORD, or neither"
            )
        if self.smtp_username is not None and self.smtp_security == "none":
            raise ValueError(
                "FOLLOWUP_SMTP_USERNAME needs FOLLOWUP_SMTP_SECURITY=starttls or ssl, so the "
                "password never crosses the network in clear"
            )
        return self

    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return _async_driver(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'followup.db').resolve()}"

    def base_url(self) -> str:
        """The public URL people open, without a trailing slash."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def trials_national(self) -> dict[str, float]:
        """The national trials figures set, by court type."""
        figures = {
            "magistrates": self.trials_national_magistrates_pct,
            "crown": self.trials_national_crown_pct,
        }
        return {court: pct for court, pct in figures.items() if pct is not None}

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


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


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
