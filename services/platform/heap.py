"""The cyclic garbage collector, set for a long-running consumer."""

from __future__ import annotations

import gc

# Allocations (less deallocations) between two young-generation collections; the default is
# 700. A batch of 500 events makes far more than that, nearly all freed by reference counting
# when the batch ends, so at 700 the collector ran dozens of times per batch for nothing.
# apply_entries on 20,000 events, SQLite: 4,020/s against 3,793/s, and 3,696/s against
# 3,487/s, default and this alternating in one run (about 6%).
YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """Collect once, then put every object alive now (modules, the app, its caches) beyond the
    cyclic collector: a full collection of the ~150,000 objects `followup serve` starts with
    took 150-200 ms on the benchmark machine, and one falling inside a midnight's lapse pass
    delayed every lapse by as much. Objects made later are collected as usual, less often."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
