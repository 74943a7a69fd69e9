"""Screening events against a worker's copy of the lists: precedence, ranges, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contract.messages import Login, Payment
from scoring.lists.entries import ListEntry
from scoring.lists.index import ListIndex, list_reason

T = datetime(2026, 11, 24, 10, tzinfo=UTC)
NOW = T.timestamp()
ENTITY_FLAGS = {f"{e}_listed" for e in ("account", "payee", "device", "ip", "merchant", "terminal")}


def entry(kind: str, entity: str, value: str, **kw) -> ListEntry:
    return ListEntry(
        entity=entity,  # type: ignore[arg-type]
        value=value,
        kind=kind,  # type: ignore[arg-type]
        reason=kw.pop("reason", "reported"),
        source=kw.pop("source", "police"),
        created_by="analyst",
        created_at=T - timedelta(days=1),
        **kw,
    )


def payment(**kw) -> Payment:
    fields = {
        "event_id": "P1",
        "ts": T,
        "account_id": "A1",
        "amount": 100.0,
        "channel": "online",
        "txn_type": "transfer",
    } | kw
    return Payment(**fields)


def login(**kw) -> Login:
    fields = {"event_id": "L1", "ts": T, "account_id": "A1", "channel": "mobile"} | kw
    return Login(success=True, **fields)


def screen(index: ListIndex, event: Payment | Login, now: float = NOW):
    features: dict = {}
    return index.screen(event, features, now), features


def test_a_payment_is_screened_on_all_six_entities():
    values = {
        "account": "A1",
        "payee": "MULE",
        "device": "D1",
        "ip": "198.51.100.7",
        "merchant": "SHOP",
        "terminal": "T9",
    }
    for entity, value in values.items():
        index = ListIndex([entry("deny", entity, value)])
        event = payment(
            payee_account="MULE",
            device_id="D1",
            ip="198.51.100.7",
            merchant_id="SHOP",
            terminal_id="T9",
        )
        result, features = screen(index, event)
        assert [e.entity for e in result.deny] == [entity]
        assert set(features) == ENTITY_FLAGS
        assert {k for k, v in features.items() if v} == {f"{entity}_listed"}


def test_a_login_is_screened_on_account_device_and_ip_only():
    index = ListIndex([entry("deny", e, "X") for e in ("account", "device", "ip", "payee")])
    result, features = screen(index, login(account_id="X", device_id="X", ip="X"))
    assert sorted(e.entity for e in result.deny) == ["account", "device", "ip"]
    assert features["payee_listed"] is False and set(features) == ENTITY_FLAGS


def test_a_hit_names_list_entry_and_source():
    listed = entry("deny", "payee", "MULE", reason="mule account", source="partner_bank")
    reason = list_reason(listed)
    assert reason.code == "DENY_PAYEE"
    for part in ("deny:payee:MULE", "partner_bank", "mule account", "analyst"):
        assert part in reason.detail


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("203.0.113.0/24", "203.0.113.77", "203.0.114.1"),
        ("10.0.0.0/8", "10.255.255.255", "11.0.0.0"),
        ("2001:db8::/32", "2001:db8:ffff::1", "2001:db9::1"),
        ("198.51.100.9/32", "198.51.100.9", "198.51.100.10"),
    ],
)
def test_ip_ranges_match_addresses_inside_them_only(network, inside, outside):
    index = ListIndex([entry("deny", "ip", network)])
    assert screen(index, payment(ip=inside))[0].deny
    assert not screen(index, payment(ip=outside))[0].deny


def test_exact_ips_ranges_and_unparseable_addresses_together():
    index = ListIndex([entry("deny", "ip", "192.0.2.1"), entry("watch", "ip", "192.0.2.0/28")])
    exact, _ = screen(index, payment(ip="192.0.2.1"))
    assert len(exact.deny) == 1 and len(exact.watch) == 1  # both the address and its range
    garbage, features = screen(index, payment(ip="not-an-ip"))
    assert not garbage.deny and features["ip_listed"] is False


def test_deny_beats_allow_and_watch():
    index = ListIndex(
        [
            entry("deny", "payee", "MULE"),
            entry(
                "allow",
                "payee",
                "MULE",
                expires_at=T + timedelta(days=1),
                suppress=["watch", "denylist_payee"],
            ),
            entry("watch", "payee", "MULE"),
        ]
    )
    result, _ = screen(index, payment(payee_account="MULE"))
    assert len(result.deny) == 1  # an allow entry cannot lift a deny
    assert result.watch == ()  # it silences the watch hit only
    assert result.suppressed_rules == frozenset({"watch", "denylist_payee"})


def test_watch_entries_apply_to_their_channels_and_amounts_only():
    index = ListIndex(
        [entry("watch", "merchant", "SHOP", channels=["pos", "online"], min_amount=1000.0)]
    )
    hit = screen(index, payment(merchant_id="SHOP", amount=1000.0, channel="pos"))[0]
    assert [e.id for e in hit.watch] == ["watch:merchant:SHOP"]
    assert not screen(index, payment(merchant_id="SHOP", amount=999.99, channel="pos"))[0].watch
    assert not screen(index, payment(merchant_id="SHOP", amount=5e3, channel="atm"))[0].watch
    # A watch hit is not a deny: the flag that rules see stays false.
    assert screen(index, payment(merchant_id="SHOP", amount=5e3))[1]["merchant_listed"] is False


def test_an_allow_entry_silences_only_its_own_entity():
    index = ListIndex(
        [
            entry("allow", "device", "D1", expires_at=T + timedelta(hours=1), suppress=["watch"]),
            entry("watch", "payee", "P1"),
        ]
    )
    result = screen(index, payment(device_id="D2", payee_account="P1"))[0]
    assert len(result.watch) == 1


def test_expired_entries_are_ignored_at_lookup_but_kept():
    index = ListIndex([entry("deny", "payee", "MULE", expires_at=T + timedelta(minutes=5))])
    assert screen(index, payment(payee_account="MULE"), NOW + 299)[0].deny
    assert not screen(index, payment(payee_account="MULE"), NOW + 300)[0].deny
    assert len(index) == 1  # the sweep removes and audits it; lookups never wait for that


def test_put_replaces_and_remove_forgets_exact_and_range_entries():
    index = ListIndex([entry("deny", "payee", "MULE", reason="first")])
    index.put(entry("deny", "payee", "MULE", reason="second"))
    assert len(index) == 1
    assert screen(index, payment(payee_account="MULE"))[0].deny[0].reason == "second"
    index.put(entry("deny", "ip", "10.0.0.0/8"))
    assert index.remove("deny:ip:10.0.0.0/8") and index.remove("deny:payee:MULE")
    assert not index.remove("deny:payee:MULE")
    assert len(index) == 0
    result, features = screen(index, payment(payee_account="MULE", ip="10.1.2.3"))
    assert not result.deny and not any(features.values())


def test_allow_entries_need_an_expiry_and_something_to_suppress():
    with pytest.raises(ValueError, match="expiry"):
        entry("allow", "device", "D1", suppress=["watch"]).validate()
    with pytest.raises(ValueError, match="suppress"):
        entry("allow", "device", "D1", expires_at=T).validate()
    with pytest.raises(ValueError):
        entry("deny", "ip", "10.0.0.0/33").validate()
