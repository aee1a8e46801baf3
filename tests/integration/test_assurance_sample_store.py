"""The monthly sample of managers' checks through the real pipeline: nothing until the month is
over, drawn by the first refresh after it (with the owner from the stored staff record), and
the same draw whatever order the checks arrived in."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest

from services.platform.settings import Settings
from services.rules.ledger import Ledger
from services.rules.model import Fact
from services.tracker.handlers import refresh_tracks
from tests.factories import event
from tests.integration.conftest import Pipeline, running_pipeline

pytestmark = pytest.mark.integration

CLOCK = {"today": date(2017, 7, 31)}


@pytest.fixture
async def pipeline_with_clock(settings: Settings) -> AsyncIterator[Pipeline]:
    async with running_pipeline(settings, today=lambda: CLOCK["today"]) as running:
        yield running


def _events(seed: int) -> list[str]:
    found = [
        event("staff-updated", "2017-06-01T09:00:00+01:00", id_="lm1", staff_id="TC-LM1",
              name="Oswin Marchbank", email="om@example.org", role="legal-manager",
              area="thames-and-chiltern", line_manager="TC-DCCP1"),
        *(
            event("finalisation-checked", f"2017-07-{1 + n:02d}T16:00:00+01:00", id_=f"chk-{n}",
                  urn=f"43TC{n:05d}17", checked_by="TC-LM1", checked_date=f"2017-07-{1 + n:02d}")
            for n in range(25)
        ),
    ]  # fmt: skip
    random.Random(seed).shuffle(found)
    return [json.dumps(e) for e in found]


async def test_the_month_is_sampled_by_the_first_refresh_after_it(
    pipeline_with_clock: Pipeline,
) -> None:
    pipeline, runtime = pipeline_with_clock, pipeline_with_clock.runtime
    CLOCK["today"] = date(2017, 7, 31)
    await pipeline.publish(_events(seed=1))
    await pipeline.publish(_events(seed=2))  # duplicates
    await pipeline.settle()
    assert await pipeline.obligations(date(2017, 7, 31), rule="assurance-sample") == {}

    CLOCK["today"] = date(2017, 8, 1)
    changes = await refresh_tracks(
        sessions=runtime.sessions, rules=runtime.rules, calendar=runtime.calendar,
        today=CLOCK["today"], now=runtime.now(),
    )  # fmt: skip
    assert [c.kind for c in changes] == ["opened"] * 3
    drawn = await pipeline.obligations(date(2017, 8, 1), rule="assurance-sample")
    assert len(drawn) == 3
    for row in drawn.values():
        assert (row["owner"], row["area"], row["due"], row["state"]) == (
            "TC-DCCP1",
            "thames-and-chiltern",
            "2017-08-14",
            "open",
        )

    # The engine run on the same checks in another order draws the same three.
    ledger = Ledger(runtime.rules, runtime.calendar)
    facts = [json.loads(line) for line in _events(seed=9)]
    ledger.apply(
        [Fact(e["source"], e["id"], e["type"],
              datetime.fromisoformat(e["time"]), e["data"]) for e in facts],
        today=date(2017, 8, 1),
    )  # fmt: skip
    assert {d.id for d in ledger.obligations() if d.rule == "assurance-sample"} == set(drawn)

    reviewed = next(iter(drawn.values()))
    await pipeline.publish(
        [
            json.dumps(
                event("sampled-check-reviewed", "2017-08-09T11:00:00+01:00", id_="rev-1",
                      urn=reviewed["urn"], checked_by="TC-LM1", checked_date="2017-07-05",
                      reviewed_by="TC-DCCP1", reviewed_date="2017-08-09")
            )
        ]
    )  # fmt: skip
    await pipeline.settle()
    after = await pipeline.obligations(date(2017, 8, 20), rule="assurance-sample")
    assert after[reviewed["id"]]["state"] == "met"
    assert sorted(row["state"] for row in after.values()) == ["lapsed", "lapsed", "met"]
