"""Latency histograms kept in Redis, like the tracker's counters: every worker process and
every host adds its observations to one hash, so the `/metrics` of any `serve` shows the
whole deployment's distribution, and a worker's figures outlive the worker
(docs/contract.md, section 11, "Added: latency histograms"). prometheus_client's own
histograms are per process: with `serve --workers N`, only the process answering HTTP would
have been seen.

An observation costs nothing in Redis by itself: a batch's values are counted into buckets
here and added with one HINCRBY per bucket touched, in the pipeline the caller already sends.
Fields of the hash are `NAME<TAB>LABEL...<TAB>BOUND` (the observations in that bucket alone)
and `...<TAB>sum`; the count is the buckets' total, so it always agrees with them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import HistogramMetricFamily

_SEP = "\t"


def histograms_key(namespace: str) -> str:
    """The one hash every histogram of a deployment is kept in."""
    return f"{namespace}:histograms"


@dataclass(frozen=True, slots=True)
class Histogram:
    name: str  # the exported name, followup_..._seconds
    help: str
    buckets: tuple[float, ...]  # upper bounds, increasing; +Inf is added
    labels: tuple[str, ...] = ()

    def record(
        self, pipe: Any, *, key: str, values: Iterable[float], labels: Sequence[str] = ()
    ) -> None:
        """Queue on `pipe` (a Redis pipeline) the observation of every value in `values`."""
        self.record_counted(pipe, key=key, counted=((value, 1) for value in values), labels=labels)

    def record_counted(
        self,
        pipe: Any,
        *,
        key: str,
        counted: Iterable[tuple[float, int]],
        labels: Sequence[str] = (),
    ) -> None:
        """The same for values given with how many times each was observed: a batch's entries
        share a handful of publication moments, so each is placed in its bucket once."""
        if len(labels) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, given {tuple(labels)}")
        counts: Counter[int] = Counter()
        total = 0.0
        for value, times in counted:
            counts[bisect_left(self.buckets, value)] += times
            total += value * times
        if not counts:
            return
        prefix = _SEP.join((self.name, *labels))
        for index, count in counts.items():
            pipe.hincrby(key, f"{prefix}{_SEP}{self._bound(index)}", count)
        pipe.hincrbyfloat(key, f"{prefix}{_SEP}sum", total)

    def family(self, fields: Mapping[str, str]) -> HistogramMetricFamily:
        """The histogram, one series per label set, from the hash's fields (all of them, or
        only this histogram's)."""
        found = HistogramMetricFamily(self.name, self.help, labels=list(self.labels))
        series: dict[tuple[str, ...], dict[str, str]] = {}
        for field, value in fields.items():
            name, *rest = field.split(_SEP)
            if name == self.name and len(rest) == len(self.labels) + 1:
                series.setdefault(tuple(rest[:-1]), {})[rest[-1]] = value
        for labels, values in sorted(series.items()):
            cumulative, buckets = 0, []
            for index in range(len(self.buckets) + 1):
                bound = self._bound(index)
                cumulative += int(float(values.get(bound, 0)))
                buckets.append((bound, float(cumulative)))
            found.add_metric(list(labels), buckets=buckets, sum_value=float(values.get("sum", 0.0)))
        return found

    def _bound(self, index: int) -> str:
        return repr(float(self.buckets[index])) if index < len(self.buckets) else "+Inf"
