"""Histograms kept in a Redis hash (services/platform/histograms.py): what a batch of values
adds, and the cumulative Prometheus histogram read back from the hash."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from services.platform.histograms import Histogram
from services.tracker.metrics import published_ages

LATENCY = Histogram("followup_x_seconds", "x", (0.1, 1.0, 10.0), labels=("route",))


class FakePipe:
    """The two commands a histogram queues, applied to a dict as Redis would."""

    def __init__(self) -> None:
        self.hash: dict[str, float] = defaultdict(float)

    def hincrby(self, _key: str, field: str, amount: int) -> None:
        self.hash[field] += amount

    def hincrbyfloat(self, _key: str, field: str, amount: float) -> None:
        self.hash[field] += amount

    def fields(self) -> dict[str, str]:
        return {field: repr(value) for field, value in self.hash.items()}


def buckets(histogram: Histogram, fields: dict[str, str]) -> dict[tuple[str, ...], Any]:
    family = histogram.family(fields)
    found: dict[tuple[str, ...], Any] = {}
    for sample in family.samples:
        key = (sample.name, *sample.labels.values())
        found[key] = sample.value
    return found


def test_values_land_in_the_first_bucket_at_or_above_them_and_read_back_cumulative() -> None:
    pipe = FakePipe()
    LATENCY.record(pipe, key="k", values=[0.05, 0.1, 0.5, 3.0, 99.0], labels=("/a",))
    LATENCY.record(pipe, key="k", values=[0.2], labels=("/a",))
    LATENCY.record(pipe, key="k", values=[5.0], labels=("/b",))

    found = buckets(LATENCY, pipe.fields())

    assert [
        found[("followup_x_seconds_bucket", "/a", le)] for le in ("0.1", "1.0", "10.0", "+Inf")
    ] == [2, 4, 5, 6]
    assert found[("followup_x_seconds_count", "/a")] == 6
    assert found[("followup_x_seconds_sum", "/a")] == pytest.approx(102.85)
    assert found[("followup_x_seconds_bucket", "/b", "+Inf")] == 1
    assert found[("followup_x_seconds_bucket", "/b", "1.0")] == 0


def test_nothing_observed_queues_nothing_and_reads_back_no_series() -> None:
    pipe = FakePipe()
    LATENCY.record(pipe, key="k", values=[], labels=("/a",))
    assert pipe.hash == {}
    assert LATENCY.family({"followup_other_seconds\t/a\t1.0": "3"}).samples == []


def test_labels_must_match_the_histogram() -> None:
    with pytest.raises(ValueError, match=r"followup_x_seconds takes labels \('route',\)"):
        LATENCY.record(FakePipe(), key="k", values=[1.0], labels=())


def test_an_entry_id_is_its_publication_time() -> None:
    ages = published_ages([b"1000-0", b"2500-7", b"1000-1"], now=3.0)
    assert sorted(ages) == [(0.5, 1), (2.0, 2)]
    assert published_ages([b"9000-0"], now=3.0) == [(0.0, 1)]  # a clock behind Redis's


def test_counted_values_weigh_as_many_observations() -> None:
    once, counted = FakePipe(), FakePipe()
    LATENCY.record(once, key="k", values=[0.5, 0.5, 0.5, 20.0], labels=("/a",))
    LATENCY.record_counted(counted, key="k", counted=[(0.5, 3), (20.0, 1)], labels=("/a",))
    assert counted.hash == once.hash
