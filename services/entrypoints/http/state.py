"""What every route reaches through `request.app.state`: set once by `build_api`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from fastapi import Request
from redis.asyncio import Redis

from services.access.people import OrgChart
from services.platform.runtime import Runtime
from services.summaries.recent import RecentSummaries


@dataclass(frozen=True, slots=True)
class AppState:
    runtime: Runtime
    redis: Redis
    today: Callable[[], date]
    chart: OrgChart = field(default_factory=OrgChart)  # kept between requests
    recent: RecentSummaries | None = None  # made by build_api from the settings


def state_of(request: Request) -> AppState:
    found: AppState = request.app.state.followup
    return found
