"""Process-wide tuning for the long-running processes (``serve``'s API and workers)."""

from __future__ import annotations

import gc
import sys

# How soon a thread that finished blocking work (a SQLite COMMIT's fsync) gets the GIL back
# from a busy event loop; Python's default, 5 ms, would add up to that to every commit.
GIL_SWITCH_INTERVAL_SECONDS = 0.0005


def tune_for_serving() -> None:
    """Call once everything is imported and built, just before serving.

    Freezing the heap moves every object alive now (modules, the app, its routes, the SDK's
    models: hundreds of thousands) out of the garbage collector's sight: each full collection
    would otherwise traverse them all, a pause of 50-80 ms for every request in flight.
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)
    gc.collect()
    gc.freeze()
