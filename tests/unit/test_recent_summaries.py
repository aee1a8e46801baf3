"""A summary is served again only at the same data version and within its seconds."""

from __future__ import annotations

from services.summaries.recent import RecentSummaries


async def test_kept_while_nothing_changed_and_not_past_its_time() -> None:
    now = [0.0]
    made: list[int] = []

    async def make() -> int:
        made.append(len(made) + 1)
        return made[-1]

    recent = RecentSummaries(seconds=60, clock=lambda: now[0])
    assert await recent.get("area", "v1", make) == 1
    now[0] = 59
    assert await recent.get("area", "v1", make) == 1  # kept
    assert await recent.get("area", "v2", make) == 2  # an obligation changed
    now[0] = 200
    assert await recent.get("area", "v2", make) == 3  # too old
    never = RecentSummaries(seconds=0, clock=lambda: now[0])
    assert await never.get("area", "v2", make) == 4
    assert await never.get("area", "v2", make) == 5
