"""`followup doctor`: each part Followup needs, with OK or what is wrong and what to do.

Read only: it connects, asks and reports; it never migrates a database, creates a data folder
or starts the embedded Redis, so it can be run against a deployment that is in trouble.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from services.entrypoints.cli.failures import first_line, without_password

if TYPE_CHECKING:
    from services.platform.settings import Settings

Verdict = Literal["ok", "warn", "fail"]
# The clock ticks every second while `serve` runs: a cursor this far behind means no clock.
CLOCK_BEHIND_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Finding:
    part: str
    verdict: Verdict
    detail: str


def examine(settings: Settings, *, now: datetime) -> list[Finding]:
    """Every finding, in the order a person would mend them."""
    findings = [Finding("settings", "ok", _settings_summary(settings))]
    findings += asyncio.run(_database(settings, now=now))
    findings.append(_redis(settings))
    findings.append(_rule_pack(settings))
    findings.append(_mail(settings))
    return findings


def _settings_summary(settings: Settings) -> str:
    return f"data folder {settings.data_dir.resolve()}, namespace {settings.namespace!r}"


async def _database(settings: Settings, *, now: datetime) -> list[Finding]:
    from sqlalchemy import text

    from schemas.db import create_engine, is_sqlite, schema_at_head, session_factory
    from schemas.tables import LapseClockState
    from services.alerts.clock.store import CLOCK

    url = settings.sqlalchemy_url()
    shown = _shown_url(settings)
    if is_sqlite(url) and not _sqlite_file(url).exists():
        return [
            Finding("database", "fail", f"no database at {_sqlite_file(url)}: run `followup "
                    "serve` or `followup publish` once, or set FOLLOWUP_DATA_DIR or "
                    "FOLLOWUP_DATABASE_URL to the deployment's"),
        ]  # fmt: skip
    engine = create_engine(url)
    try:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # what a person reads: the driver's own words
            return [
                Finding("database", "fail", f"{shown}: cannot connect ({first_line(error)}); "
                        "check FOLLOWUP_DATABASE_URL and that the server is up"),
            ]  # fmt: skip
        findings = [Finding("database", "ok", shown)]
        if not await schema_at_head(engine):
            findings.append(
                Finding("migrations", "warn", "the schema is behind this version: the next "
                        "`followup` command that opens the database upgrades it")
            )  # fmt: skip
            return findings
        findings.append(Finding("migrations", "ok", "the schema is at this version's head"))
        async with session_factory(engine)() as session:
            state = await session.get(LapseClockState, CLOCK)
        findings.append(_clock(state.cursor if state else None, now=now))
        return findings
    finally:
        await engine.dispose()


def _clock(cursor: datetime | None, *, now: datetime) -> Finding:
    if cursor is None:
        never = "the lapse clock has never run: `followup serve` starts it (alarms due before"
        return Finding("clock cursor", "warn", f"{never} its first start are history)")
    behind = (now - cursor).total_seconds()
    if behind > CLOCK_BEHIND_SECONDS:
        late = f"{behind / 60:,.0f} minutes behind: is `followup serve` running?"
        return Finding("clock cursor", "warn", f"at {cursor:%Y-%m-%d %H:%M} UTC, {late}")
    return Finding("clock cursor", "ok", f"at {cursor:%Y-%m-%d %H:%M:%S} UTC")


def _redis(settings: Settings) -> Finding:
    if settings.redis_url is None:
        return Finding("redis", "ok", f"embedded, kept in {settings.data_dir.resolve()} "
                       "(started by the first command that needs it)")  # fmt: skip
    import redis
    import redis.sentinel

    from services.platform.broker.connect import sync_redis_client

    client = sync_redis_client(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except redis.sentinel.MasterNotFoundError:  # its text holds the whole client's repr
        return Finding("redis", "fail", f"{without_password(settings.redis_url)}: no sentinel "
                       "answered with the master's address (are they up, and is that the name "
                       "they monitor?); check FOLLOWUP_REDIS_URL")  # fmt: skip
    except redis.RedisError as error:
        return Finding("redis", "fail", f"{without_password(settings.redis_url)}: "
                       f"{first_line(error)}; check FOLLOWUP_REDIS_URL and that the server "
                       "is up")  # fmt: skip
    finally:
        client.close()
    return Finding("redis", "ok", without_password(settings.redis_url))


def _rule_pack(settings: Settings) -> Finding:
    from services.rules.packfile import RulePackError, load_pack

    where = str(settings.rule_pack) if settings.rule_pack else "the shipped default pack"
    try:
        rules = load_pack(settings.rule_pack)
    except RulePackError as error:
        problems = "; ".join(error.problems[:3])
        more = f" (and {len(error.problems) - 3} more)" if len(error.problems) > 3 else ""
        return Finding("rule pack", "fail", f"{where}: {problems}{more}; see `followup rules "
                       "check FILE`")  # fmt: skip
    return Finding("rule pack", "ok", f"{where}, {len(rules)} rules")


def _mail(settings: Settings) -> Finding:
    if not settings.smtp_host:
        outbox = (settings.data_dir / "outbox").resolve()
        return Finding("mail", "ok", f"no FOLLOWUP_SMTP_HOST: messages are written to {outbox}")
    address = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with socket.create_connection((settings.smtp_host, settings.smtp_port), timeout=5):
            pass
    except OSError as error:
        return Finding("mail", "fail", f"{address}: {error.strerror or error}; check "
                       "FOLLOWUP_SMTP_HOST and FOLLOWUP_SMTP_PORT")  # fmt: skip
    return Finding("mail", "ok", f"{address} answers; sender {settings.smtp_sender}")


def _sqlite_file(url: str) -> Path:
    from sqlalchemy.engine import make_url

    return Path(make_url(url).database or "")


def _shown_url(settings: Settings) -> str:
    if settings.database_url is None:
        return f"SQLite {_sqlite_file(settings.sqlalchemy_url())}"
    return without_password(settings.database_url)
