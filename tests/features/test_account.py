"""Features an account yields for sequences of payments and logins."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from riskflow.contract.messages import Feedback, Login, Payment
from riskflow.features.account import AccountState, FeatureConfig
from riskflow.features.catalog import ENTITY_OF, FEATURES, NO_LOGIN_MINUTES

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=CST)


def pay(minutes: float, amount: float = 100.0, **kw) -> Payment:
    fields = {"channel": "online", "txn_type": "transfer"} | kw
    return Payment(
        event_id=f"p{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id="A1",
        amount=amount,
        **fields,
    )


def pay_at(ts: datetime, amount: float) -> Payment:
    return Payment(
        event_id=f"p{ts.isoformat()}",
        ts=ts,
        account_id="A1",
        amount=amount,
        channel="online",
        txn_type="transfer",
    )


def login(minutes: float, success: bool = True, **kw) -> Login:
    return Login(
        event_id=f"l{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id="A1",
        channel=kw.pop("channel", "mobile"),
        success=success,
        **kw,
    )


def feed(state: AccountState, event: Payment | Login):
    t, hour = event.ts.timestamp(), event.ts.hour
    if isinstance(event, Payment):
        return state.on_payment(event, t, hour)
    return state.on_login(event, t, hour)


def test_every_catalogued_feature_is_produced_for_payments_and_logins():
    state = AccountState()
    listed = {f"{e}_listed" for e in ("account", "payee", "device", "ip", "merchant", "terminal")}
    # The cross-account features come from their entity stages (features/entity.py).
    assert set(feed(state, pay(0))) == set(FEATURES) - listed - set(ENTITY_OF)
    assert set(feed(state, login(1))) == set(feed(AccountState(), pay(0)))


def test_payment_windows_include_the_event_and_drop_old_history():
    state = AccountState()
    feed(state, pay(0, 10.0))
    feed(state, pay(30, 20.0))
    f = feed(state, pay(62, 40.0))
    assert (f["pay_count_5m"], f["pay_count_1h"], f["pay_count_24h"]) == (1, 2, 3)
    assert (f["pay_sum_5m"], f["pay_sum_1h"], f["pay_sum_24h"]) == (40.0, 60.0, 70.0)
    f = feed(state, pay(60 * 24 + 31, 5.0))
    assert f["pay_count_24h"] == 2  # 62 min and now; 0 and 30 min fell out of 24 h


def test_takeover_chain_context_reaches_the_payment():
    state = AccountState()
    feed(state, login(0, device_id="home-phone", lat=31.2, lon=121.5))
    for m in (100, 101, 102, 103):
        feed(state, login(m, success=False, device_id="evil", ip="6.6.6.6"))
    feed(state, login(104, device_id="evil", ip="6.6.6.6", lat=31.2, lon=121.5))
    f = feed(state, pay(120, 9000.0, payee_account="MULE1", device_id="evil"))
    assert f["failures_before_login"] == 4
    assert f["last_login_new_device"] is True
    assert f["minutes_since_login"] == pytest.approx(16.0)
    assert f["is_new_payee"] is True
    assert f["is_new_device"] is False  # the login already introduced it
    assert f["failed_logins_1h"] == 4 and f["failed_logins_15m"] == 0


def test_new_payee_device_and_ip_are_new_only_once():
    state = AccountState()
    first = feed(state, pay(0, payee_account="B", device_id="d", ip="1.1.1.1"))
    again = feed(state, pay(5, payee_account="B", device_id="d", ip="1.1.1.1"))
    assert (first["is_new_payee"], first["is_new_device"], first["is_new_ip"]) == (True,) * 3
    assert (again["is_new_payee"], again["is_new_device"], again["is_new_ip"]) == (False,) * 3
    assert again["distinct_payees_24h"] == 1


def test_amount_profile_uses_only_history_before_the_event():
    state = AccountState()
    for i in range(10):
        feed(state, pay(i * 60, 100.0 + i))
    f = feed(state, pay(700, 5000.0))
    assert f["payment_history_count"] == 10
    assert f["amount_zscore"] > 100
    assert f["amount_ratio_to_max"] == pytest.approx(5000.0 / 109.0)


def test_impossible_travel_between_login_city_and_payment():
    state = AccountState()
    feed(state, login(0, lat=31.23, lon=121.47))  # Shanghai
    f = feed(state, pay(60, lat=39.90, lon=116.40))  # Beijing, an hour later
    assert 1000 < f["travel_km"] < 1100
    assert f["travel_kmh"] == pytest.approx(f["travel_km"], rel=1e-6)
    assert feed(AccountState(), pay(0, lat=1.0, lon=1.0))["travel_km"] == 0.0


def test_card_testing_counts_small_card_payments_only():
    state = AccountState(FeatureConfig(small_card_amount=5.0))
    for i in range(6):
        f = feed(state, pay(i * 0.5, 1.0 + i % 2, txn_type="card", channel="pos"))
    assert f["small_card_count_5m"] == 6
    f = feed(state, pay(3.1, 300.0, txn_type="card"))
    assert f["small_card_count_5m"] == 6


def test_no_login_yet_and_night_hour():
    f = feed(AccountState(), pay(-8 * 60 + 30, 1.0))  # 02:30 local
    assert f["minutes_since_login"] == NO_LOGIN_MINUTES
    assert f["hour"] == 2 and f["is_night"] is True


def test_fraud_labels_count_for_thirty_days():
    state = AccountState()
    state.on_feedback(
        Feedback(event_id="p0", account_id="A1", label="fraud", ts=T0), T0.timestamp()
    )
    assert feed(state, pay(60))["account_fraud_labels_30d"] == 1
    assert feed(state, pay(60 * 24 * 31))["account_fraud_labels_30d"] == 0


def test_snapshot_round_trip_gives_identical_future_features():
    original = AccountState()
    for i in range(20):
        feed(original, pay(i * 7, 10.0 + i, payee_account=f"P{i % 3}", device_id="d"))
        feed(original, login(i * 7 + 1, success=i % 4 != 0, device_id=f"d{i % 2}", lat=30, lon=120))
    restored = AccountState.from_bytes(original.to_bytes())
    nxt = pay(200, 77.0, payee_account="P9", device_id="x", lat=31, lon=121)
    assert feed(restored, nxt) == feed(original, nxt)
    assert len(original.to_bytes()) < 4096


def test_daily_total_resets_at_local_midnight_of_the_configured_zone():
    state = AccountState(FeatureConfig(timezone="Asia/Shanghai"))
    late = T0.replace(hour=23, minute=50)  # 23:50 in Shanghai
    assert feed(state, pay_at(late, 4000.0))["daily_total"] == 4000.0
    assert feed(state, pay_at(late + timedelta(minutes=5), 3000.0))["daily_total"] == 7000.0
    after = feed(state, pay_at(late + timedelta(minutes=15), 1000.0))  # 00:05 next day
    assert after["daily_total"] == 1000.0
    # The same instants seen from UTC fall on one UTC day: the zone decides, not UTC.
    utc = AccountState(FeatureConfig(timezone="UTC"))
    for minutes, amount in ((0, 4000.0), (5, 3000.0), (15, 1000.0)):
        f = feed(utc, pay_at(late + timedelta(minutes=minutes), amount))
    assert f["daily_total"] == 8000.0


def test_replayed_snapshot_does_not_double_count_the_daily_total():
    state = AccountState()
    feed(state, pay(0, 500.0))
    snapshot = state.to_bytes()
    feed(state, pay(10, 700.0))
    replayed = AccountState.from_bytes(snapshot)
    assert feed(replayed, pay(10, 700.0))["daily_total"] == 1200.0


def test_consecutive_failures_lock_the_account_until_a_strong_login_or_expiry():
    cfg = FeatureConfig(lock_after_failures=3, lock_minutes=30)
    state = AccountState(cfg)
    for m in range(3):
        assert feed(state, login(m, success=False))["account_locked"] is False
    locked = feed(state, login(3, success=True, auth_method="password"))
    assert locked["account_locked"] is True and locked["consecutive_failures"] == 3
    # The weak success was refused: still locked.
    assert feed(state, login(4, success=True, auth_method="sms_otp"))["account_locked"] is True
    # A strong success is let in (its own decision is not a lock) and lifts the lock.
    strong = feed(state, login(5, success=True, auth_method="usb_key"))
    assert strong["account_locked"] is False and strong["consecutive_failures"] == 3
    assert feed(state, login(6, success=True))["account_locked"] is False
    assert feed(state, login(7, success=False))["consecutive_failures"] == 0


def test_a_lock_expires_and_a_success_resets_the_count():
    state = AccountState(FeatureConfig(lock_after_failures=2, lock_minutes=30))
    feed(state, login(0, success=False))
    feed(state, login(1, success=False))
    assert feed(state, login(20, success=False))["account_locked"] is True
    after = feed(state, login(51, success=True))  # 30 min after the last failure
    assert after["account_locked"] is False
    assert feed(state, login(52, success=False))["consecutive_failures"] == 0


def test_known_devices_counts_only_devices_that_got_in_before():
    state = AccountState()
    assert feed(state, login(0, device_id="D1"))["known_devices"] == 0
    assert feed(state, login(1, success=False, device_id="D2"))["known_devices"] == 1
    second = feed(state, login(2, device_id="D2"))
    assert second["known_devices"] == 1 and second["is_new_device"] is True
    assert feed(state, login(3, device_id="D1"))["known_devices"] == 2


@pytest.mark.parametrize(
    ("zone", "last_second", "first_second"),
    [
        # Events arrive stamped in UTC; the zone's midnight falls inside the UTC day.
        ("Asia/Shanghai", "2026-11-24T15:59:59Z", "2026-11-24T16:00:00Z"),
        ("America/New_York", "2026-11-25T04:59:59Z", "2026-11-25T05:00:00Z"),  # EST, UTC-5
    ],
)
def test_daily_total_turns_over_at_the_exact_second_of_local_midnight(
    zone, last_second, first_second
):
    state = AccountState(FeatureConfig(timezone=zone))
    before = datetime.fromisoformat(last_second)
    assert feed(state, pay_at(before - timedelta(hours=2), 300.0))["daily_total"] == 300.0
    assert feed(state, pay_at(before, 200.0))["daily_total"] == 500.0
    after = datetime.fromisoformat(first_second)
    # A login reports what has been paid today: nothing yet, this early in the new day.
    assert feed(state, login_at(after))["daily_total"] == 0.0
    assert feed(state, pay_at(after, 50.0))["daily_total"] == 50.0
    # A late-arriving payment from the day before counts alone and leaves today's total be.
    assert feed(state, pay_at(before - timedelta(minutes=1), 7.0))["daily_total"] == 7.0
    assert feed(state, pay_at(after + timedelta(seconds=1), 1.0))["daily_total"] == 51.0


def login_at(ts: datetime) -> Login:
    return Login(
        event_id=f"l{ts.isoformat()}", ts=ts, account_id="A1", channel="mobile", success=True
    )
