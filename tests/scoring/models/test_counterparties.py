"""Counterparty fraud rates: smoothed, bounded, and only as known at decision time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskflow.contract.messages import Login, Payment
from riskflow.scoring.models.bundle import ModelBundle
from riskflow.scoring.models.counterparties import CounterpartyStats, parties

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


DAY = 86400.0


def test_rates_are_smoothed_toward_the_labelled_fraud_share():
    stats = CounterpartyStats()
    for i in range(98):
        stats.learn([f"payee:P{i}"], fraud=False, at=0.0)
    stats.learn(["payee:MULE"], fraud=True, at=0.0)
    stats.learn(["payee:MULE"], fraud=True, at=0.0)
    prior = (2 + 1) / (100 + 2)
    mule = stats.features(["payee:MULE"], PAYEE, 0.0)
    assert mule["cp_fraud_rate_30d.payee"] == pytest.approx((2 + 2 * prior) / (2 + 2))
    assert prior < mule["cp_fraud_rate_1d.payee"] < 1.0  # two labels are evidence, not certainty
    assert stats.features(["payee:P1"], PAYEE, 0.0)["cp_fraud_rate_7d.payee"] < prior
    never = stats.features(["payee:NEVER"], PAYEE, 0.0)  # unknown: the prior, and no labels
    assert never["cp_fraud_rate_7d.payee"] == pytest.approx(prior)
    assert never["cp_labels_30d.payee"] == 0.0 and never["cp_frauds_7d.payee"] == 0.0
    assert stats.features(["device:D1", "ip:1.1.1.1"], PAYEE, 0.0) == {}  # counted, not asked


def test_old_labels_fade_first_from_the_short_horizons():
    stats = CounterpartyStats()
    for _ in range(10):
        stats.learn(["terminal:T"], fraud=True, at=0.0)
    for i in range(200):
        stats.learn([f"terminal:Q{i}"], fraud=False, at=0.0)
    week_later = stats.features(["terminal:T"], frozenset({"terminal"}), 7 * DAY)
    # A week on, the one-day counters have all but forgotten; the 30-day ones remember.
    assert week_later["cp_fraud_rate_1d.terminal"] < 0.3 < week_later["cp_fraud_rate_30d.terminal"]


def test_the_table_is_bounded_whatever_the_number_of_counterparties():
    stats = CounterpartyStats(slots=1 << 10)
    size = len(stats.counts)
    for i in range(20_000):
        stats.learn([f"payee:P{i}"], fraud=False, at=float(i))
    assert len(stats.counts) == size and len(stats.last) == 1 << 10
    with pytest.raises(ValueError):
        CounterpartyStats(slots=1000)


def test_a_snapshot_carries_the_counts_as_of_its_labels():
    bundle = ModelBundle(min_labels=1, min_positives=1)
    bundle.learn("payment", {"a": 1.0}, 0.5, [], 0.01, True, 1.0, ["payee:MULE"])
    frozen = bundle.to_snapshot().load().frozen()
    bundle.learn("payment", {"a": 1.0}, 0.5, [], 0.01, True, 2.0, ["payee:MULE"])
    # Later labels change the learner's counts, not those of the snapshot already published.
    then = frozen.counterparties.features(["payee:MULE"], PAYEE, 2.0)
    now = bundle.counterparties.features(["payee:MULE"], PAYEE, 2.0)
    assert then["cp_frauds_7d.payee"] < now["cp_frauds_7d.payee"]
