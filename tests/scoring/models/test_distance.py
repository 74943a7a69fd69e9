"""The standardised-distance anomaly detector."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskflow.scoring.models.distance import StandardizedDistance
from riskflow.scoring.models.learners import anomaly_detector


def trained(n: int = 2000) -> StandardizedDistance:
    rng = random.Random(1)
    det = StandardizedDistance()
    for _ in range(n):
        det.learn_one({"a": rng.gauss(0, 1), "b": rng.gauss(10, 2)})
    return det


def test_the_farther_from_typical_the_higher_the_score():
    det = trained()
    typical = det.score_one({"a": 0.0, "b": 10.0})
    odd = det.score_one({"a": 3.0, "b": 10.0})
    odder = det.score_one({"a": 3.0, "b": 16.0})
    assert typical < 0.01 < odd < odder <= 1.0


def test_one_absurd_value_counts_no_more_than_five_sigma():
    det = trained()
    assert det.score_one({"a": 1e9, "b": 10.0}) == pytest.approx(
        det.score_one({"a": 5.0, "b": 10.0}), abs=1e-3
    )


def test_inputs_seen_too_rarely_are_not_scored_and_constants_flag_change():
    det = StandardizedDistance(min_count=3)
    for _ in range(10):
        det.learn_one({"flag": 0.0})
    assert det.score_one({"flag": 0.0, "new": 5.0}) == 0.0
    assert det.score_one({"flag": 1.0}) == 1.0


@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.floats(-1e6, 1e6)), max_size=60))
def test_scores_stay_in_the_unit_interval(rows):
    det = StandardizedDistance(min_count=2)
    for row in rows:
        det.learn_one(row)
        assert 0.0 <= det.score_one(row) <= 1.0


def test_detectors_are_named_in_config():
    assert isinstance(anomaly_detector("distance"), StandardizedDistance)
    assert anomaly_detector("hst").score_one({"a": 1.0}) >= 0.0
    with pytest.raises(ValueError, match="unknown anomaly detector"):
        anomaly_detector("magic")
