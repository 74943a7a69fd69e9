"""The collector's pace: what exists at start-up is frozen, young passes come less often."""

from __future__ import annotations

import gc

from riskflow.collector import YOUNG_THRESHOLD, pace_collector


def test_the_start_up_heap_is_frozen_and_young_passes_are_rarer():
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)  # the defaults: an earlier flow here may have paced it
        kept = [[] for _ in range(10)]  # alive at start-up, like the built flow
        pace_collector()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
