"""Backtest metrics against values worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from riskflow.backtest.metrics import Scored, load_decisions, precision_at_k_per_day, summarize
from riskflow.scoring.models.prequential import average_precision, roc_auc


def row(account: str, day: str, score: float, fraud: bool, action: str = "allow") -> Scored:
    return Scored(f"{account}-{day}-{score}", account, day, score, action, fraud, True)


def test_average_precision_and_auc_by_hand():
    scores, labels = [0.9, 0.8, 0.7, 0.1], [True, False, True, False]
    # Positives at ranks 1 and 3: precision 1/1 and 2/3.
    assert average_precision(scores, labels) == pytest.approx((1 + 2 / 3) / 2)
    # Pairs (pos, neg): 0.9>0.8, 0.9>0.1, 0.7<0.8, 0.7>0.1.
    assert roc_auc(scores, labels) == pytest.approx(3 / 4)
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5  # a tie is half a win
    # Ties rank the legitimate event first: no credit for a lucky order.
    assert average_precision([0.5, 0.5], [True, False]) == pytest.approx(1 / 2)
    assert math.isnan(average_precision([0.3], [False]))


def test_precision_at_k_leaves_out_accounts_alerted_on_earlier_days():
    rows = [
        row("A", "d1", 0.9, True, "review"),
        row("B", "d1", 0.8, False),
        row("C", "d1", 0.1, False),
        row("A", "d2", 0.95, True),  # A is already with the branch: not counted again
        row("B", "d2", 0.3, False),
        row("D", "d2", 0.25, False),
        row("C", "d2", 0.2, True),
    ]
    assert precision_at_k_per_day(rows, k=2) == {"d1": 0.5, "d2": 0.0}
    assert precision_at_k_per_day(rows, k=3) == {
        "d1": pytest.approx(1 / 3),
        "d2": pytest.approx(1 / 3),
    }


def test_summary_from_decision_files(tmp_path):
    decisions = [
        {
            "event_id": "P1",
            "account_id": "A",
            "event_type": "payment",
            "event_ts": "2026-03-01T10:00:00+08:00",
            "score": 0.95,
            "action": "block",
            "model_version": "champion-10",
        },
        {
            "event_id": "P2",
            "account_id": "B",
            "event_type": "payment",
            "event_ts": "2026-03-01T23:30:00+08:00",
            "score": 0.2,
            "action": "allow",
            "model_version": "rules-only",
        },
        {
            "event_id": "L1",
            "account_id": "B",
            "event_type": "login",
            "event_ts": "2026-03-02T00:10:00+08:00",
            "score": 0.9,
            "action": "block",
            "model_version": "rules-only",
        },
    ]
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in decisions))
    rows = load_decisions(path, {"P1"})
    assert [(r.event_id, r.day, r.fraud) for r in rows] == [
        ("P1", "2026-03-01", True),
        ("P2", "2026-03-01", False),  # 23:30 in the bank's zone is still the 1st
    ]
    summary = summarize(rows, k=1)
    assert summary.payments == 2 and summary.frauds == 1
    assert summary.average_precision == 1.0 and summary.precision_at_100_mean == 1.0
    assert summary.alert_rate == 0.5 and summary.alert_precision == 1.0
    assert summary.fraud_stopped == 1.0 and summary.modelled_share == 0.5
