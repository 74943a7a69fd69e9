"""Per-IP features across accounts: each signal fires in one case and not in another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, FEATURES, defaults, entity_of
from riskflow.features.ip import IP_FEATURES, IPState, ip_key, neutral

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
IP = "203.0.113.7"


def login(account: str, minutes: float, success: bool, ip: str | None = IP) -> Login:
    return Login(
        event_id=f"L-{account}-{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id=account,
        channel="mobile",
        success=success,
        ip=ip,
    )


def pay(account: str, minutes: float, ip: str | None = IP) -> Payment:
    return Payment(
        event_id=f"P-{account}-{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id=account,
        amount=100.0,
        channel="mobile",
        txn_type="transfer",
        ip=ip,
    )


def test_the_catalogue_names_the_ip_entity_and_neutral_values_are_its_defaults():
    assert set(IP_FEATURES) == {n for n, e in ENTITY_OF.items() if e == "ip"}
    assert all(n in FEATURES for n in IP_FEATURES)
    assert {entity_of(n) for n in IP_FEATURES} == {"ip"}
    assert entity_of("pay_count_1h") == "account"
    assert neutral() == {n: defaults()[n] for n in IP_FEATURES}


def test_the_key_is_the_ip_and_none_without_one():
    assert ip_key(login("A", 0, True)) == IP
    assert ip_key(login("A", 0, True, ip=None)) is None
    assert ip_key(login("A", 0, True, ip="")) is None


def test_failed_logins_across_accounts_count_in_5_minutes_and_the_hour():
    s = IPState()
    for i in range(4):
        s.observe(login(f"A{i}", i * 0.5, False))
    f = s.observe(login("B", 3, False))
    assert (f["ip_failed_logins_5m"], f["ip_failed_logins_1h"]) == (4, 4)
    # 20 minutes on: out of 5 minutes (with its bucket of slack), still in the hour.
    f = s.observe(login("B", 23, True))
    assert (f["ip_failed_logins_5m"], f["ip_failed_logins_1h"]) == (0, 5)
    # Past the hour and its bucket: gone.
    f = s.observe(login("C", 3 + 62, True))
    assert (f["ip_failed_logins_5m"], f["ip_failed_logins_1h"]) == (0, 0)


def test_a_quiet_ip_has_no_failures():
    s = IPState()
    s.observe(login("A", 0, True))
    f = s.observe(pay("A", 1))
    assert f == {**neutral(), "ip_accounts_1h": 1}


def test_distinct_accounts_in_the_hour_include_this_one_and_forget_the_old():
    s = IPState()
    s.observe(login("A", 0, True))
    s.observe(login("B", 10, True))
    assert s.observe(login("A", 20, True))["ip_accounts_1h"] == 2
    assert s.observe(login("C", 30, True))["ip_accounts_1h"] == 3
    # A last seen at 20, B at 10: at 85 only C (30) and D itself are within the hour.
    assert s.observe(login("D", 85, True))["ip_accounts_1h"] == 2


def test_distinct_accounts_saturate_at_the_cap():
    s = IPState()
    for i in range(200):
        f = s.observe(login(f"A{i}", i * 0.1, True))
    assert f["ip_accounts_1h"] == 64


def test_success_after_failures_on_other_accounts_counts_them_not_its_own():
    s = IPState()
    for i in range(6):
        s.observe(login(f"V{i}", i * 0.1, False))
    s.observe(login("W", 1, False))
    s.observe(login("W", 1.1, False))
    f = s.observe(login("W", 2, True))
    assert f["ip_failures_elsewhere_1h"] == 6  # the two failures on W itself do not count
    assert s.observe(pay("W", 20))["ip_failures_elsewhere_1h"] == 6
    assert s.observe(pay("W", 90))["ip_failures_elsewhere_1h"] == 0  # over an hour later


def test_a_customer_failing_on_their_own_account_has_no_failures_elsewhere():
    s = IPState()
    for i in range(5):
        s.observe(login("HOME", i, False))
    f = s.observe(login("HOME", 6, True))
    assert f["ip_failed_logins_1h"] == 5
    assert f["ip_failures_elsewhere_1h"] == 0


def test_a_failed_login_has_no_failures_elsewhere():
    s = IPState()
    s.observe(login("V", 0, False))
    assert s.observe(login("W", 1, False))["ip_failures_elsewhere_1h"] == 0


def test_an_account_with_many_failure_minutes_keeps_its_own_count_whole():
    s = IPState()
    for m in range(30):  # 30 distinct minutes: more than the buckets kept per account
        s.observe(login("HOME", m, False))
    f = s.observe(login("HOME", 31, True))
    assert f["ip_failed_logins_1h"] == 30
    assert f["ip_failures_elsewhere_1h"] == 0


def test_state_is_bounded_after_10000_accounts_from_one_ip():
    s = IPState()
    for i in range(10_000):
        s.observe(login(f"A{i}", i * 0.01, i % 2 == 0))
    blob = s.to_bytes()
    assert len(s.seen) <= 64 and len(s.own) <= 64 and len(s.fails) <= 62
    assert len(blob) < 4096
    # And it stays so as time passes.
    for i in range(10_000):
        s.observe(login(f"B{i}", 100 + i * 0.5, False))
    assert len(s.to_bytes()) < 4096


def test_old_buckets_are_dropped_by_event_time():
    s = IPState()
    for i in range(50):
        s.observe(login(f"A{i}", i, False))
    s.observe(login("Z", 60 * 24, True))
    assert s.fails == {} and s.own == {} and len(s.seen) == 1


def test_a_snapshot_restores_the_same_answers_and_an_older_one_loads():
    a = IPState()
    for i in range(10):
        a.observe(login(f"A{i}", i, i % 3 == 0))
    b = IPState.from_bytes(a.to_bytes())
    nxt = login("A1", 12, True)
    assert b.observe(nxt) == a.observe(nxt)
    # A snapshot from before a field existed (here: no per-account failures) still loads.
    old = msgspec.msgpack.encode({"newest": 5, "fails": {5: 1}, "seen": {1: 300}})
    c = IPState.from_bytes(old)
    assert c.own == {} and c.fails == {5: 1}


# Written by IPState.to_bytes before the IP and device stages shared their state (six logins
# on three accounts from 09:00, every other one failing): a live IP's checkpoint must still
# load, and answer as it did, after the state grows new fields.
_IP_SNAPSHOT_V1 = bytes.fromhex(
    "84a66e6577657374ce01c2c161a56661696c7383ce01c2c15d01ce01c2c15f01ce01c2c16101a47365656e83"
    "cf41f6719101804d87ce69a55244cf39f03b342c298c95ce69a55280cf083849845f5a74f3ce69a552bca36f"
    "776e83cf39f03b342c298c959192ce01c2c15d01cf41f6719101804d879192ce01c2c15f01cf083849845f5a"
    "74f39192ce01c2c16101"
)


def test_an_ip_snapshot_of_the_first_format_loads_and_answers_as_before():
    s = IPState.from_bytes(_IP_SNAPSHOT_V1)
    f = s.observe(login("A0", 10, True))
    assert {n: f[n] for n in ("ip_failed_logins_5m", "ip_failed_logins_1h")} == {
        "ip_failed_logins_5m": 1,
        "ip_failed_logins_1h": 3,
    }
    assert (f["ip_accounts_1h"], f["ip_failures_elsewhere_1h"]) == (3, 2)
