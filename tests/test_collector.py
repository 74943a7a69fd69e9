"""The collector's pace: what exists at start-up is frozen, young passes come less often."""

from __future__ import annotations

import gc

from riskflow.collector import YOUNG_THRESHOLD, pace_collector


def test_the_start_up_heap_is_frozen_and_young_passes_are_rarer():
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        kept = [object() for _ in range(10)]  # alive at start-up, like the built flow
        pace_collector()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD > before[0]
        assert gc.get_threshold()[1:] == before[1:]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
