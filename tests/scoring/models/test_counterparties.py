"""Counterparty fraud rates: smoothed, bounded, and only as known at decision time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contract.messages import Login, Payment
from scoring.models.bundle import ModelBundle
from scoring.models.counterparties import CounterpartyStats, parties

T = datetime(2026, 3, 1, tzinfo=UTC)
PAYEE = frozenset({"payee"})


def test_payments_name_five_counterparties_and_logins_two():
    pay = Payment(
        event_id="P",
        ts=T,
        account_id="A",
        amount=1.0,
        channel="pos",
        txn_type="card",
        payee_account="X",
        merchant_id="M",
        terminal_id="T",
        device_id="D",
        ip="1.2.3.4",
    )
    assert parties(pay) == ["payee:X", "merchant:M", "terminal:T", "device:D", "ip:1.2.3.4"]
    login = Login(event_id="L", ts=T, account_id="A", channel="online", success=True, ip="5.6.7.8")
    assert parties(login) == ["ip:5.6.7.8"]


def test_rates_are_smoothed_toward_the_labelled_fraud_share():
    stats = CounterpartyStats()
    for i in range(98):
        stats.learn([f"payee:P{i}"], fraud=False)
    stats.learn(["payee:MULE"], fraud=True)
    stats.learn(["payee:MULE"], fraud=True)
    prior = (2 + 1) / (100 + 2)
    mule = stats.features(["payee:MULE"], PAYEE)
    assert mule["cp_fraud_rate.payee"] == pytest.approx((2 + 5 * prior) / (2 + 5))
    assert prior < mule["cp_fraud_rate.payee"] < 1.0  # two labels are evidence, not certainty
    assert stats.features(["payee:P1"], PAYEE)["cp_fraud_rate.payee"] < prior
    assert stats.features(["payee:NEVER"], PAYEE) == {  # unknown: the prior, and no labels
        "cp_fraud_rate.payee": pytest.approx(prior),
        "cp_labels.payee": 0.0,
    }
    assert stats.features(["device:D1", "ip:1.1.1.1"], PAYEE) == {}  # counted, not asked for


def test_the_least_recently_labelled_are_forgotten_beyond_the_cap():
    stats = CounterpartyStats(cap=2)
    stats.learn(["payee:A"], fraud=True)
    stats.learn(["payee:B"], fraud=False)
    stats.learn(["payee:A"], fraud=False)  # A is fresh again
    stats.learn(["payee:C"], fraud=False)
    assert list(stats.counts) == ["payee:A", "payee:C"]


def test_a_snapshot_carries_the_counts_as_of_its_labels():
    bundle = ModelBundle(min_labels=1, min_positives=1)
    bundle.learn("payment", {"a": 1.0}, 0.0, 0.0, True, 1.0, ["payee:MULE"])
    frozen = bundle.to_snapshot().load().frozen()
    bundle.learn("payment", {"a": 1.0}, 0.0, 0.0, True, 2.0, ["payee:MULE"])
    # Later labels change the learner's counts, not those of the snapshot already published.
    assert frozen.counterparties.counts["payee:MULE"] == (1, 1)
    assert bundle.counterparties.counts["payee:MULE"] == (2, 2)
