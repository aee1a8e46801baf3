"""Summaries built a moment ago, served again while nothing they count has changed: an Area's
weekly summary reads hundreds of thousands of obligations (about a second at national size)
and its chart takes matplotlib as long again, while the conference call's page is opened by
many people at once (docs/contract.md section 12, "Area and inspection pages").

A kept answer is used only while the obligations' latest write (`updated_at`, read from its
index) and the staff table are as they were, and for at most `seconds`: an acknowledgement or
a snooze, which writes no obligation, shows within that time."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

KEPT = 128  # answers kept at most: a few Areas, units and teams, a week or two each


class RecentSummaries:
    def __init__(self, *, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    async def get(
        self, key: Hashable, version: Hashable, make: Callable[[], Awaitable[Any]]
    ) -> Any:
        """What `make` gives for `key` at data `version`, made again when older than
        `seconds` or made at another version."""
        now = self.clock()
        found = self._kept.get((key, version))
        if found is not None and now - found[0] < self.seconds:
            self._kept.move_to_end((key, version))
            return found[1]
        value = await make()
        if self.seconds > 0:
            self._kept[(key, version)] = (now, value)
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
        return value
