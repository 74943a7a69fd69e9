"""The anomaly detector's score as a rank among the scores seen."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskflow.scoring.models.anomaly_rank import AnomalyRank


def test_rank_is_the_share_of_earlier_scores_below():
    rank = AnomalyRank(bins=100)
    assert rank.rank(0.3) == 0.5  # nothing seen yet: neutral
    rng = random.Random(2)
    for _ in range(10_000):
        rank.observe(rng.random())
    assert rank.rank(0.9) == pytest.approx(0.9, abs=0.02)
    assert rank.rank(0.1) == pytest.approx(0.1, abs=0.02)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=200), st.floats())
def test_rank_is_always_in_the_unit_interval_and_monotone(scores, probe):
    rank = AnomalyRank(bins=50)
    for s in scores:
        rank.observe(s)
    r = rank.rank(probe)
    assert 0.0 <= r < 1.0
    if probe == probe and probe < 0.99:  # not NaN
        assert rank.rank(probe) <= rank.rank(min(1.0, probe + 0.02)) + 1e-12
