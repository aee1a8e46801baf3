"""The lapse clock and the delivery loop together, as `followup serve` and the demo run them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.alerts.clock.hours import WorkingHours, parse_hours
from services.alerts.clock.raise_alarms import Context
from services.alerts.clock.ticker import LapseClock
from services.alerts.delivery.deliverer import Deliverer
from services.alerts.delivery.digest_view import LinkMaker
from services.platform.clock import now as wall_clock
from services.platform.runtime import Runtime

log = logging.getLogger("followup.alerts")


def working_hours(runtime: Runtime) -> WorkingHours:
    start, end = parse_hours(runtime.settings.alert_hours)
    interval = timedelta(minutes=runtime.settings.alert_digest_minutes)
    return WorkingHours(runtime.calendar, start, end, interval)


class AlertService:
    def __init__(
        self,
        runtime: Runtime,
        redis: Redis,
        *,
        now: Callable[[], datetime] = wall_clock,
        links: LinkMaker | None = None,
    ) -> None:
        """`links`: each digest item's links (open, acknowledge, snooze) for the email; none
        without it (docs/contract.md, section 7, "The digest email")."""
        settings = runtime.settings
        hours = working_hours(runtime)
        context = Context(
            rules={r.id: r for r in runtime.rules},
            calendar=runtime.calendar,
            hours=hours,
            repeat_days=settings.alert_repeat_days,
        )
        self.clock = LapseClock(
            engine=runtime.engine,
            sessions=runtime.sessions,
            settings=settings,
            context=context,
            redis=redis,
            now=now,
        )
        self.deliverer = Deliverer(
            sessions=runtime.sessions,
            settings=settings,
            hours=hours,
            now=now,
            context=context,
            links=links,
        )
        self.settings = settings

    async def step(self) -> None:
        """One tick and one delivery round (tests and the demo drive time through this)."""
        await self.clock.tick()
        await self.deliverer.deliver()
        await self.clock.publish(self.clock.now())

    async def run(self) -> None:
        # A TaskGroup, not gather: cancelled, gather returns as soon as one child has stopped,
        # leaving the clock closing its database connection after the engine is disposed
        # (a hang at shutdown, seen in CI).
        async with asyncio.TaskGroup() as group:
            group.create_task(self.clock.run())
            group.create_task(self._deliver_forever())

    async def _deliver_forever(self) -> None:
        while True:
            try:
                report = await self.deliverer.deliver()
                await self.clock.publish(self.clock.now())
                if report.digests or report.sent or report.failed:
                    log.info(
                        "alerts delivered",
                        extra={
                            "digests": report.digests,
                            "sent": report.sent,
                            "failed": report.failed,
                        },
                    )
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning("alert delivery waiting", extra={"error": type(error).__name__})
            except Exception:
                log.exception("alert delivery failed")
            await asyncio.sleep(self.settings.alert_delivery_seconds)
