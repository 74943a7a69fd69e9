"""The garbage collector's pace for a long-running flow.

Python's cycle collector runs a young-generation pass every 700 net allocations, and every
so often a full pass over every tracked object. A flow allocates a handful of small
objects per event and holds a large, long-lived heap (the models, the feature log, the
keyed states), so at the defaults the collector was the largest single cost in a profile
of the Kafka path (about a sixth of the CPU). Collecting less often keeps the memory it
frees bounded all the same: cycles are still found, in larger, rarer passes.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["YOUNG_THRESHOLD", "pace_collector"]

YOUNG_THRESHOLD: Final = 50_000
"""Net allocations between young-generation passes (Python's default: 700)."""


def pace_collector() -> None:
    """Freeze what exists now (imports, config, the built flow: it lives as long as the
    process, and rescanning it is the cost of a full pass) and collect at a slower pace."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
