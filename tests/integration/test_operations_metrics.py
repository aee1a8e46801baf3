"""`/metrics` for operations (docs/contract.md, section 11, "Added: latency histograms" and
"Added: operations gauges"): histograms every process adds to in Redis, and the gauges the
alerting rules of deploy/prometheus/alerts.yml watch, on both databases and real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from schemas.tables import Delivery, Digest, LapseClockState, PublishedSummary, StaffMember
from services.entrypoints.http.api import build_api
from services.entrypoints.http.metrics import metrics_text, operations_gauges
from services.platform.runtime import open_runtime
from services.platform.settings import Settings
from tests.factories import letter_due, lines
from tests.integration.conftest import Pipeline, settings_for

pytestmark = pytest.mark.integration

# A Friday after the summaries' moment (16:00 London) of ISO week 2030-W02.
FRIDAY_EVENING = datetime(2030, 1, 11, 17, 0, tzinfo=UTC)


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


async def test_every_batch_and_event_is_in_the_latency_histograms(pipeline: Pipeline) -> None:
    await pipeline.publish(lines(*(letter_due("2018-02-01", victim_id=f"V{i}") for i in range(9))))
    status = await pipeline.settle()

    found = samples(await metrics_text(runtime=pipeline.runtime, redis=pipeline.redis))

    assert found[("followup_event_latency_seconds_count", ())] == 9
    assert found[("followup_event_latency_seconds_bucket", (("le", "+Inf"),))] == 9
    assert found[("followup_event_latency_seconds_sum", ())] > 0
    batches = status["metrics"]["batches"]
    assert found[("followup_batch_apply_seconds_count", ())] == batches
    counts = [
        value
        for (name, labels), value in found.items()
        if name == "followup_batch_apply_seconds_bucket"
    ]
    assert counts == sorted(counts) and counts[-1] == batches  # cumulative, +Inf last


async def test_http_requests_are_timed_by_route_template_and_status(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(tmp_path, database_url, redis_server, namespace)
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url(redis_server)
        try:
            api = build_api(runtime=runtime, redis=redis, today=lambda: date(2025, 7, 1))
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost"
            ) as client:
                assert (await client.get("/healthz")).status_code == 200
                assert (await client.get("/healthz")).status_code == 200
                assert (await client.get("/obligations/ob-1")).status_code == 401
                assert (await client.get("/no/such/page")).status_code == 404
            found = samples(await metrics_text(runtime=runtime, redis=redis))
        finally:
            await redis.aclose()

    def count(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return found.get(("followup_http_request_duration_seconds_count", labels), 0)

    assert count("/healthz", "2xx") == 2
    assert count("/obligations/{obligation_id}", "4xx") == 1
    assert count("other", "4xx") == 1


async def test_a_request_is_answered_with_redis_away(tmp_path: Path, namespace: str) -> None:
    settings = settings_for(
        tmp_path, f"sqlite:///{tmp_path}/f.db", "redis://127.0.0.1:1/0", namespace
    )
    async with open_runtime(settings) as runtime:
        redis = Redis.from_url("redis://127.0.0.1:1/0")
        try:
            api = build_api(runtime=runtime, redis=redis, today=lambda: date(2025, 7, 1))
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost"
            ) as client:
                answer = await client.get("/healthz")
        finally:
            await redis.aclose()
    assert (answer.status_code, answer.json()) == (200, {"status": "alive"})


async def test_gauges_of_the_clock_deliveries_and_summaries(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(tmp_path, database_url, redis_server, namespace)
    now = FRIDAY_EVENING
    async with open_runtime(settings) as runtime:
        assert _by_name(await operations_gauges(runtime=runtime, now=now)) == {
            "followup_alert_deliveries_pending": 0,
            "followup_alert_delivery_oldest_pending_seconds": 0,
            "followup_weekly_summaries_overdue": 0,  # nobody to send one to
        }  # and no lapse clock yet: never started, never behind
        async with runtime.sessions() as session, session.begin():
            session.add_all(
                [
                    _clock(cursor=now - timedelta(minutes=20)),
                    _staff("DCCP-1", "dccp"),
                    _staff("LM-1", "legal-manager"),
                    _staff("LM-2", "legal-manager"),
                    _sent(scope_kind="team", scope_id="LM-2", week="2030-W02", now=now),
                    _sent(scope_kind="team", scope_id="LM-1", week="2030-W01", now=now),
                ]
            )
            digest = Digest(recipient="LM-1", slot=now, created_at=now - timedelta(hours=2))
            session.add(digest)
            await session.flush()
            session.add_all(
                [
                    Delivery(digest_id=digest.id, channel="email", next_attempt_at=now),
                    Delivery(digest_id=digest.id, channel="webhook", next_attempt_at=now),
                ]
            )

        gauges = _by_name(await operations_gauges(runtime=runtime, now=now))

    assert gauges == {
        "followup_lapse_clock_behind_seconds": 1200,
        "followup_alert_deliveries_pending": 2,
        "followup_alert_delivery_oldest_pending_seconds": 7200,
        # The Area's (DCCP-1) and LM-1's summaries of 2030-W02 are not sent; LM-2's is.
        "followup_weekly_summaries_overdue": 2,
    }


async def test_a_part_switched_off_is_never_reported_behind(
    tmp_path: Path, database_url: str, redis_server: str, namespace: str
) -> None:
    settings = settings_for(
        tmp_path,
        database_url,
        redis_server,
        namespace,
        alerts_enabled=False,
        summary_schedule=False,
    )
    async with open_runtime(settings) as runtime:
        async with runtime.sessions() as session, session.begin():
            session.add_all(
                [_clock(cursor=FRIDAY_EVENING - timedelta(days=30)), _staff("D", "dccp")]
            )
        assert await operations_gauges(runtime=runtime, now=FRIDAY_EVENING) == []


def _by_name(metrics: list[object]) -> dict[str, float]:
    return {
        sample.name: sample.value
        for metric in metrics
        for sample in metric.samples  # type: ignore[attr-defined]
    }


def _clock(*, cursor: datetime) -> LapseClockState:
    start = datetime(2029, 1, 1, tzinfo=UTC)
    return LapseClockState(
        name="lapse", started_at=start, cursor=cursor, scanned_to=cursor, updated_at=cursor
    )


def _staff(staff_id: str, role: str) -> StaffMember:
    return StaffMember(
        staff_id=staff_id,
        name=staff_id,
        email=f"{staff_id.lower()}@example.org",
        role=role,
        area="thames-and-chiltern",
        event_time=datetime(2029, 1, 1, tzinfo=UTC),
        updated_at=datetime(2029, 1, 1, tzinfo=UTC),
    )


def _sent(*, scope_kind: str, scope_id: str, week: str, now: datetime) -> PublishedSummary:
    return PublishedSummary(
        scope_kind=scope_kind,
        scope_id=scope_id,
        area="thames-and-chiltern",
        week=week,
        due_at=now,
        status="sent",
        claimed_at=now,
        sent_at=now,
    )


def test_settings_used_here_are_the_defaults_for_the_parts() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.alerts_enabled, defaults.summary_schedule) == (True, True)
    assert (defaults.summary_day, defaults.summary_time.hour) == ("friday", 16)
