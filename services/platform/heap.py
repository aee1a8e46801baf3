"""The cyclic garbage collector, set for a long-running consumer."""

from __future__ import annotations

import gc

# Allocations (less deallocations) between two young-generation collections; the default is
# 700. A batch of 500 events makes far more than that, nearly all freed by reference counting
# when the batch ends, so at 700 the collector ran dozens of times per batch for nothing
# (measured in BENCHMARKS.md).
YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """Collect once, then put every object alive now (modules, the app, its caches) beyond the
    cyclic collector: a full collection of the objects `followup serve` starts with takes a
    noticeable pause, and one falling inside a midnight's lapse pass delayed every lapse by as
    much. Objects made later are collected as usual, less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
