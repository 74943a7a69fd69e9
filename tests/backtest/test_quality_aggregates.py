"""Quality by day, by labels learned and per model version, on rows worked out by hand."""

from __future__ import annotations

import pytest

from riskflow.backtest.metrics import Scored
from riskflow.backtest.quality import (
    by_day,
    by_label_band,
    by_model_version,
    label_band,
    labels_learned,
)


def row(n: int, day: str, score: float, fraud: bool, version: str, action: str = "allow") -> Scored:
    return Scored(f"P{n}", f"A{n}", day, score, action, fraud, version != "rules-only", version, n)


ROWS = [
    # d1: a fraud above two of three legitimate payments, one tie
    row(1, "d1", 0.9, True, "champion-500", "block"),
    row(2, "d1", 0.9, False, "champion-500", "challenge"),
    row(3, "d1", 0.5, False, "champion-2000"),
    row(4, "d1", 0.1, False, "rules-only"),
    # d2: no fraud at all
    row(5, "d2", 0.3, False, "champion-2000", "review"),
    row(6, "d2", 0.2, False, "champion-150000.from-challenger-149800"),
    # d3: two frauds
    row(7, "d3", 0.8, True, "champion-150000.from-challenger-149800", "block"),
    row(8, "d3", 0.4, False, "champion-2000"),
    row(9, "d3", 0.6, True, "champion-2000"),
]


@pytest.mark.parametrize(
    ("version", "labels", "band"),
    [
        ("rules-only", None, "rules-only"),
        ("cold", None, "cold"),
        ("champion-0", 0, "<1k"),
        ("champion-999", 999, "<1k"),
        ("champion-1000", 1000, "1k-10k"),
        ("champion-12345", 12345, "10k-100k"),
        ("champion-12345+from-challenger-12000", 12345, "10k-100k"),
        ("champion-120.from-challenger-120", 120, "<1k"),
        ("challenger-99999", 99999, "10k-100k"),
        ("champion-100000", 100000, ">=100k"),
        ("champion-2500000", 2500000, ">=100k"),
        ("champion-", None, "other"),
        ("champion-12a", None, "other"),
        ("v2", None, "other"),
        ("", None, "other"),
    ],
)
def test_bands_parse_the_label_count_in_the_version(version, labels, band):
    assert labels_learned(version) == labels
    assert label_band(version) == band


def test_quality_per_event_day():
    days = by_day(ROWS)
    assert list(days) == ["d1", "d2", "d3"]
    d1 = days["d1"]
    assert (d1["payments"], d1["frauds"]) == (4, 1)
    # The fraud ties one legitimate payment (half a win) and beats two: 2.5 / 3.
    assert d1["roc_auc"] == pytest.approx(2.5 / 3)
    # The tie ranks the legitimate payment first: the fraud is at rank 2.
    assert d1["average_precision"] == pytest.approx(1 / 2)
    assert d1["non_allow_share"] == pytest.approx(2 / 4)
    assert d1["alert_rate"] == pytest.approx(1 / 4)
    # A day without fraud has no AUC or AP: None, never NaN.
    d2 = days["d2"]
    assert d2["frauds"] == 0 and d2["roc_auc"] is None and d2["average_precision"] is None
    assert d2["non_allow_share"] == pytest.approx(1 / 2)
    d3 = days["d3"]
    assert d3["roc_auc"] == 1.0 and d3["average_precision"] == 1.0
    assert d3["non_allow_share"] == pytest.approx(1 / 3)


def test_quality_per_band_of_labels_learned():
    bands = by_label_band(ROWS)
    assert list(bands) == ["rules-only", "<1k", "1k-10k", ">=100k"]  # reading order, no empties
    assert bands["rules-only"] == {
        "versions": 1,
        "payments": 1,
        "frauds": 0,
        "roc_auc": None,
        "average_precision": None,
        "non_allow_share": 0.0,
        "alert_rate": 0.0,
    }
    low = bands["<1k"]
    assert (low["versions"], low["payments"], low["frauds"]) == (1, 2, 1)
    assert low["roc_auc"] == 0.5 and low["average_precision"] == 0.5
    # 1k-10k: scores 0.5, 0.3, 0.4 legitimate, 0.6 fraud: the fraud ranks first.
    mid = bands["1k-10k"]
    assert (mid["versions"], mid["payments"], mid["frauds"]) == (1, 4, 1)
    assert mid["roc_auc"] == 1.0 and mid["average_precision"] == 1.0
    assert mid["non_allow_share"] == pytest.approx(1 / 4)
    high = bands[">=100k"]
    assert (high["payments"], high["frauds"], high["roc_auc"]) == (2, 1, 1.0)


def test_per_version_table_keeps_versions_with_enough_fraud_and_counts_the_rest():
    kept, left = by_model_version(ROWS, min_frauds=1)
    # In the order each version first scored (ts = the row number here).
    assert [v["model_version"] for v in kept] == [
        "champion-500",
        "champion-2000",
        "champion-150000.from-challenger-149800",
    ]
    assert left == {"min_frauds": 1, "versions": 1, "payments": 1, "frauds": 0}
    assert kept[1]["payments"] == 4 and kept[1]["roc_auc"] == 1.0
    kept, left = by_model_version(ROWS)  # at least 20 frauds by default: none here
    assert kept == []
    assert left == {"min_frauds": 20, "versions": 4, "payments": 9, "frauds": 3}
