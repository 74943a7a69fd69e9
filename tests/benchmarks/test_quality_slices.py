"""Slices of the public quality benchmarks, small enough for every CI run.

The full runs are benchmarks (`riskflow bench quality`, docs/performance.md); these
slices check that the production flow, learning online from the streams' delayed
labels, still ranks fraud on data it was not built on.
"""

from __future__ import annotations

import pytest

from riskflow.benchmarks.quality import ulb
from riskflow.benchmarks.quality.run import bench_handbook, bench_ulb


def test_a_handbook_slice_is_ranked_well_after_learning_from_delayed_labels(tmp_path):
    # Four weeks of the published data set, 2018-07-18 to the end of its test week: three
    # weeks to learn from (labels seven days late), then the week it is scored on.
    result = bench_handbook(tmp_path, from_day=108, to_day=136)
    assert result["missing"] == 0 and result["test_frauds"] == 385
    # Rules alone rank this slice near chance (measured: AUC 0.57, AP 0.10): these need
    # the terminal fraud rates and the learned model.
    assert result["roc_auc"] > 0.75
    assert result["average_precision"] > 0.15
    assert result["non_allow_share"] < 0.05


@pytest.mark.skipif(ulb.locate() is None, reason=ulb.UNAVAILABLE_HINT)
def test_the_first_hours_of_ulb_are_ranked_by_the_cold_start_score(tmp_path):
    # The first 30,000 transactions come before any 24 h label exists: only the anomaly
    # rank can order them.
    result = bench_ulb(tmp_path, limit=30_000)
    assert result["missing"] == 0 and result["frauds"] > 20
    assert result["roc_auc"] > 0.85
    assert result["non_allow_share"] < 0.05
