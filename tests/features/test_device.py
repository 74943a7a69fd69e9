"""Per-device features across accounts, and the IP's device rotation: each fires in one case
and not in another, the state stays bounded and its snapshot loads across versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, FEATURES, defaults, entity_of
from riskflow.features.device import DEVICE_FEATURES, DeviceState, device_key, neutral
from riskflow.features.ip import IPState

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEV = "dev-emulator-1"


def login(
    account: str, minutes: float, success: bool, device: str | None = DEV, ip: str = "198.51.100.9"
) -> Login:
    return Login(
        event_id=f"L-{account}-{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id=account,
        channel="mobile",
        success=success,
        device_id=device,
        ip=ip,
    )


def pay(account: str, minutes: float, device: str | None = DEV) -> Payment:
    return Payment(
        event_id=f"P-{account}-{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id=account,
        amount=100.0,
        channel="mobile",
        txn_type="transfer",
        device_id=device,
    )


def test_the_catalogue_names_the_device_entity_and_neutral_values_are_its_defaults():
    assert DEVICE_FEATURES == (
        "device_failed_logins_1h",
        "device_accounts_1h",
        "device_failures_elsewhere_1h",
    )
    assert set(DEVICE_FEATURES) == {n for n, e in ENTITY_OF.items() if e == "device"}
    assert all(n in FEATURES for n in DEVICE_FEATURES)
    assert {entity_of(n) for n in DEVICE_FEATURES} == {"device"}
    assert neutral() == {n: defaults()[n] for n in DEVICE_FEATURES}
    assert entity_of("ip_device_rotation_1h") == "ip"


def test_the_key_is_the_device_id_and_none_without_one():
    assert device_key(login("A", 0, True)) == DEV
    assert device_key(pay("A", 0, device=None)) is None
    assert device_key(login("A", 0, True, device="")) is None


def test_a_device_failing_on_many_accounts_counts_them_and_its_success_sees_them():
    s = DeviceState()
    for i in range(6):
        s.observe(login(f"V{i}", i * 0.5, False, ip=f"203.0.113.{i}"))  # the IP rotates
    f = s.observe(login("V6", 4, True, ip="203.0.113.99"))
    assert f == {
        "device_failed_logins_1h": 6,
        "device_accounts_1h": 7,
        "device_failures_elsewhere_1h": 6,
    }
    assert s.observe(pay("V6", 20))["device_failures_elsewhere_1h"] == 6
    assert s.observe(pay("V6", 90))["device_failures_elsewhere_1h"] == 0  # over an hour on


def test_a_customer_mistyping_on_their_own_phone_has_no_failures_elsewhere():
    s = DeviceState()
    for i in range(4):
        s.observe(login("HOME", i, False))
    f = s.observe(login("HOME", 5, True))
    assert f == {
        "device_failed_logins_1h": 4,
        "device_accounts_1h": 1,
        "device_failures_elsewhere_1h": 0,
    }


def test_a_failed_login_has_no_failures_elsewhere():
    s = DeviceState()
    s.observe(login("V", 0, False))
    assert s.observe(login("W", 1, False))["device_failures_elsewhere_1h"] == 0


def test_device_state_is_bounded_under_a_flood_of_accounts():
    s = DeviceState()
    for i in range(10_000):
        f = s.observe(login(f"A{i}", i * 0.01, i % 2 == 0))
    assert f["device_accounts_1h"] == 64
    assert len(s.seen) <= 64 and len(s.own) <= 64 and len(s.fails) <= 62
    assert s.logins == {} and s.devices == {}  # rotation is the IP's, not kept here
    assert len(s.to_bytes()) < 4096


def test_a_device_snapshot_round_trips_and_an_older_one_loads():
    a = DeviceState()
    for i in range(10):
        a.observe(login(f"A{i}", i, i % 3 == 0))
    b = DeviceState.from_bytes(a.to_bytes())
    nxt = login("A1", 12, True)
    assert b.observe(nxt) == a.observe(nxt)
    old = msgspec.msgpack.encode({"newest": 5, "fails": {5: 1}, "seen": {1: 300}})
    c = DeviceState.from_bytes(old)
    assert c.own == {} and c.fails == {5: 1} and c.devices == {}


# --- ip_device_rotation_1h -------------------------------------------------------


def test_rotation_fires_on_stuffing_with_a_new_or_missing_device_each_login():
    s = IPState()
    for i in range(20):
        device = None if i % 3 == 0 else f"D{i}"
        s.observe(login(f"V{i}", i * 0.5, False, device=device))
    f = s.observe(login("V20", 11, True, device="D20"))
    assert f["ip_device_rotation_1h"] == 1.0


def test_rotation_stays_low_for_one_household_device():
    s = IPState()
    for i in range(12):
        s.observe(login("HOME" if i % 2 else "PARTNER", i * 4, True, device="TABLET"))
    f = s.observe(login("HOME", 50, True, device="TABLET"))
    assert f["ip_device_rotation_1h"] == 1 / 12  # only the very first login brought it new
    assert 0.0 <= f["ip_device_rotation_1h"] <= 1.0


def test_rotation_is_0_without_enough_logins_and_forgets_after_the_hour():
    s = IPState()
    assert s.observe(pay("A", 0))["ip_device_rotation_1h"] == 0.0
    s.observe(login("A", 1, True, device=None))
    s.observe(login("B", 2, True, device=None))
    assert s.observe(pay("A", 3))["ip_device_rotation_1h"] == 0.0  # two logins say nothing
    s.observe(login("C", 4, True, device=None))
    assert s.observe(pay("A", 5))["ip_device_rotation_1h"] == 1.0
    assert s.observe(pay("A", 5 + 62))["ip_device_rotation_1h"] == 0.0


def test_rotation_state_is_bounded_under_a_flood_of_devices():
    s = IPState()
    for i in range(10_000):
        s.observe(login(f"A{i % 50}", i * 0.01, True, device=f"D{i}"))
    assert len(s.devices) <= 16 and len(s.logins) <= 62 and len(s.rotated) <= 62
    assert len(s.to_bytes()) < 4096
    # A known device crowded out of the capped set is new again: a flood reads as rotation.
    assert s.observe(login("A0", 101, True, device="D0"))["ip_device_rotation_1h"] == 1.0


def test_an_ip_snapshot_with_devices_round_trips():
    a = IPState()
    for i in range(8):
        a.observe(login(f"A{i % 2}", i, True, device=f"D{i % 3}"))
    b = IPState.from_bytes(a.to_bytes())
    nxt = login("A1", 9, True, device="D1")
    assert b.observe(nxt) == a.observe(nxt)
    assert b.devices == a.devices and b.rotated == a.rotated
