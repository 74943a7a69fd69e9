"""Counterparty fraud rates: as the labels say, bounded, and only as known at decision time."""

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


def test_rates_are_the_share_of_a_counterpartys_labels_that_said_fraud():
    stats = CounterpartyStats()
    for i in range(98):
        stats.learn([f"payee:P{i}"], fraud=False, at=0.0)
    stats.learn(["payee:MULE"], fraud=True, at=0.0)
    stats.learn(["payee:MULE"], fraud=True, at=0.0)
    stats.learn(["payee:MIXED"], fraud=True, at=0.0)
    stats.learn(["payee:MIXED"], fraud=False, at=0.0)
    mule = stats.features(["payee:MULE"], PAYEE, 0.0)
    # Unsmoothed, as the handbook's delayed-window risk: two frauds out of two read 1.0.
    assert mule == pytest.approx({f"cp_fraud_rate_{h}.payee": 1.0 for h in ("1d", "7d", "30d")})
    assert stats.features(["payee:MIXED"], PAYEE, 0.0)["cp_fraud_rate_7d.payee"] == 0.5
    assert stats.features(["payee:P1"], PAYEE, 0.0)["cp_fraud_rate_7d.payee"] == 0.0
    never = stats.features(["payee:NEVER"], PAYEE, 0.0)  # unknown: 0, not a missing input
    assert never == {f"cp_fraud_rate_{h}.payee": 0.0 for h in ("1d", "7d", "30d")}
    assert stats.features(["device:D1", "ip:1.1.1.1"], PAYEE, 0.0) == {}  # counted, not asked


def test_old_labels_fade_first_from_the_short_horizons():
    stats = CounterpartyStats()
    for _ in range(10):
        stats.learn(["terminal:T"], fraud=True, at=0.0)
    for day in range(1, 8):
        stats.learn(["terminal:T"], fraud=False, at=day * DAY)
    week_later = stats.features(["terminal:T"], frozenset({"terminal"}), 7 * DAY)
    # Ten frauds, then a week of honest labels: the one-day rate has all but forgotten the
    # frauds, the 30-day one remembers them.
    assert week_later["cp_fraud_rate_1d.terminal"] < 0.1
    assert week_later["cp_fraud_rate_30d.terminal"] > 0.5


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
    bundle.learn("payment", {"a": 1.0}, 0.5, [], 0.01, False, 2.0, ["payee:MULE"])
    # Later labels change the learner's counts, not those of the snapshot already published.
    then = frozen.counterparties.features(["payee:MULE"], PAYEE, 2.0)
    now = bundle.counterparties.features(["payee:MULE"], PAYEE, 2.0)
    assert then["cp_fraud_rate_7d.payee"] == 1.0 > now["cp_fraud_rate_7d.payee"]
