"""Reliability bins, expected calibration error and Brier score against values by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskflow.backtest.calibration import EDGES, reliability, wilson

# Two legitimate payments near 0, four at 0.2 with one fraud, one fraud at 0.95.
SCORES = [0.00005, 0.00005, 0.2, 0.2, 0.2, 0.2, 0.95]
LABELS = [False, False, True, False, False, False, True]


def test_bins_hold_count_mean_score_and_observed_fraud_share():
    cal = reliability(SCORES, LABELS)
    filled = {(b.low, b.high): b for b in cal.bins if b.count}
    assert set(filled) == {(0.0, 1e-4), (0.1, 0.3), (0.9, 0.97)}
    low, mid, top = filled[(0.0, 1e-4)], filled[(0.1, 0.3)], filled[(0.9, 0.97)]
    assert (low.count, low.frauds, low.observed) == (2, 0, 0.0)
    assert low.mean_score == pytest.approx(0.00005)
    assert (mid.count, mid.frauds, mid.observed) == (4, 1, 0.25)
    assert mid.mean_score == pytest.approx(0.2)
    assert (top.count, top.frauds, top.observed) == (1, 1, 1.0)
    # Every edge pair is listed, empty bins with nulls, so two runs line up bin by bin.
    assert len(cal.bins) == len(EDGES) - 1 == 14
    empty = [b for b in cal.bins if not b.count]
    assert all(b.mean_score is None and b.observed is None for b in empty)


def test_ece_and_brier_by_hand():
    cal = reliability(SCORES, LABELS)
    # ECE: 2/7·|0 - 0.00005| + 4/7·|0.25 - 0.2| + 1/7·|1 - 0.95| = (0.0001 + 0.2 + 0.05) / 7
    assert cal.ece == pytest.approx(0.2501 / 7)
    # Brier: (2·0.00005² + 0.8² + 3·0.2² + 0.05²) / 7
    assert cal.brier == pytest.approx((2 * 0.00005**2 + 0.64 + 0.12 + 0.0025) / 7)
    assert cal.base_rate == pytest.approx(2 / 7)
    assert cal.brier_base_rate == pytest.approx(2 / 7 * 5 / 7)
    assert cal.brier_skill == pytest.approx(1 - cal.brier / (10 / 49))
    assert (cal.payments, cal.frauds) == (7, 2)


def test_a_perfectly_calibrated_bin_has_no_gap():
    # Ten payments at 0.2 of which two fraud: observed equals predicted.
    cal = reliability([0.2] * 10, [True, True] + [False] * 8)
    assert cal.ece == pytest.approx(0.0)
    assert cal.brier == pytest.approx((2 * 0.8**2 + 8 * 0.2**2) / 10)


def test_edges_are_half_open_and_one_falls_in_the_last_bin():
    cal = reliability([0.1, 1.0, 0.0], [False, True, False])
    by_low = {b.low: b.count for b in cal.bins}
    assert by_low[0.1] == 1 and by_low[0.03] == 0  # 0.1 opens [0.1, 0.3)
    assert by_low[0.99] == 1  # the last bin is closed at 1
    assert by_low[0.0] == 1


def test_wilson_interval_by_hand():
    # 1 of 4, z = 1.96: centre (0.25 + 0.4802) / 1.9604, half 1.96·sqrt(0.046875 + 0.060025)
    # / 1.9604.
    low, high = wilson(1, 4)
    assert low == pytest.approx(0.0455, abs=1e-4)
    assert high == pytest.approx(0.6994, abs=1e-4)
    assert wilson(0, 10)[0] == pytest.approx(0.0) and wilson(10, 10)[1] == pytest.approx(1.0)


def test_no_payments_leave_every_figure_undefined():
    cal = reliability([], [])
    assert cal.payments == 0
    assert cal.ece is None and cal.brier is None and cal.brier_skill is None
    assert all(b.count == 0 for b in cal.bins)


def test_no_fraud_leaves_brier_skill_undefined_not_infinite():
    cal = reliability([0.01, 0.02], [False, False])
    assert cal.brier_skill is None
    assert cal.brier is not None and math.isfinite(cal.brier)


@given(st.integers(min_value=1, max_value=5000), st.data())
def test_the_wilson_interval_always_holds_the_observed_share(n, data):
    successes = data.draw(st.integers(min_value=0, max_value=n))
    low, high = wilson(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_all_fraud_and_no_fraud_bins_reach_the_bounds_exactly():
    # n of n came out 0.9999999999999999 before: a negative error bar the report's plot refused.
    assert all(wilson(n, n)[1] == 1.0 and wilson(0, n)[0] == 0.0 for n in range(1, 500))
