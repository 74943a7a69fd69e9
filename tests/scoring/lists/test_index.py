"""Screening events against a worker's copy of the lists: precedence, ranges, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskflow.contract.messages import Login, Payment
from riskflow.scoring.lists.entries import ENTITIES, ListEntry
from riskflow.scoring.lists.index import ListIndex, Screening, list_reason

T = datetime(2026, 11, 24, 10, tzinfo=UTC)
NOW = T.timestamp()
ENTITY_FLAGS = {f"{e}_listed" for e in ENTITIES}
LATER = T + timedelta(days=1)


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


def allow(entity: str, value: str, *suppress: str, expires_at: datetime = LATER) -> ListEntry:
    return entry("allow", entity, value, expires_at=expires_at, suppress=list(suppress))


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


# The value each entity takes in FULL_PAYMENT; every one is distinct so a hit names its entity.
PAYMENT_VALUES = {
    "account": "A1",
    "payee": "MULE",
    "device": "D1",
    "ip": "198.51.100.7",
    "merchant": "SHOP",
    "terminal": "T9",
}
FULL_PAYMENT = payment(
    payee_account="MULE", device_id="D1", ip="198.51.100.7", merchant_id="SHOP", terminal_id="T9"
)


# --- which entities are screened ----------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_payment_is_screened_on_each_of_the_six_entities(entity):
    index = ListIndex([entry("deny", entity, PAYMENT_VALUES[entity])])
    result, features = screen(index, FULL_PAYMENT)
    assert [e.entity for e in result.deny] == [entity]
    assert set(features) == ENTITY_FLAGS
    assert {k for k, v in features.items() if v} == {f"{entity}_listed"}


def test_a_login_is_screened_on_account_device_and_ip_only():
    # Every entity lists the same value, so only what the login screens can match.
    index = ListIndex([entry("deny", e, "X") for e in ENTITIES])
    result, features = screen(index, login(account_id="X", device_id="X", ip="X"))
    assert sorted(e.entity for e in result.deny) == ["account", "device", "ip"]
    assert set(features) == ENTITY_FLAGS
    assert {k for k, v in features.items() if v} == {"account_listed", "device_listed", "ip_listed"}


def test_a_payment_without_counterparties_matches_on_what_it_has():
    index = ListIndex([entry("deny", "account", "A1"), entry("deny", "payee", "MULE")])
    result, features = screen(index, payment())  # no payee, device, ip, merchant, terminal
    assert [e.entity for e in result.deny] == ["account"]
    assert features["payee_listed"] is False


@pytest.mark.parametrize("index", [ListIndex(), ListIndex([entry("deny", "payee", "OTHER")])])
def test_every_flag_is_reset_when_nothing_matches(index):
    # The features dict may carry flags from an earlier step; screening must overwrite them all.
    features = dict.fromkeys(ENTITY_FLAGS, True)
    result = index.screen(FULL_PAYMENT, features, NOW)
    assert result == Screening()
    assert features == dict.fromkeys(ENTITY_FLAGS, False)


def test_the_same_value_is_only_matched_as_its_own_entity():
    # A device id that happens to equal the payee account is not a listed payee.
    index = ListIndex([entry("deny", "device", "MULE")])
    result, features = screen(index, payment(payee_account="MULE", device_id="D1"))
    assert result.deny == () and not any(features.values())


# --- the reason a hit gives -----------------------------------------------------


def test_a_hit_names_its_list_entry_and_source():
    listed = entry("deny", "payee", "M900001", reason="mule of A0001234", source="partner_bank")
    reason = list_reason(listed)
    assert reason.code == "DENY_PAYEE"
    # Alerts, decisions and Redis carry the detail: the payee masked, even in the free text.
    for part in ("deny list", "deny:payee:M****0001", "partner_bank", "mule of A****1234"):
        assert part in reason.detail
    assert "analyst" in reason.detail
    assert "M900001" not in reason.detail and "A0001234" not in reason.detail
    assert "until" not in reason.detail  # no expiry to report


def test_a_watch_hit_names_its_list_and_an_expiry_when_there_is_one():
    listed = entry("watch", "device", "D1", source="branch", expires_at=LATER)
    reason = list_reason(listed)
    assert reason.code == "WATCH_DEVICE"
    assert "watch list" in reason.detail and "watch:device:****," in reason.detail
    assert "branch" in reason.detail and LATER.isoformat() in reason.detail
    merchant = list_reason(entry("watch", "merchant", "SHOP-12345678", source="branch"))
    assert "watch:merchant:SHOP-12345678" in merchant.detail  # a business, named in clear


# --- IP addresses and ranges ---------------------------------------------------


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("203.0.113.0/24", "203.0.113.77", "203.0.114.1"),
        ("203.0.113.0/24", "203.0.113.0", "203.0.112.255"),
        ("10.0.0.0/8", "10.255.255.255", "11.0.0.0"),
        ("0.0.0.0/0", "192.0.2.1", "2001:db8::1"),  # every IPv4 address, no IPv6 one
        ("2001:db8::/32", "2001:db8:ffff::1", "2001:db9::1"),
        ("2001:db8:0:1::/64", "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8:0:2::"),
        ("198.51.100.9/32", "198.51.100.9", "198.51.100.10"),
    ],
)
def test_ip_ranges_match_addresses_inside_them_only(network, inside, outside):
    index = ListIndex([entry("deny", "ip", network)])
    hit, features = screen(index, payment(ip=inside))
    assert [e.value for e in hit.deny] == [network] and features["ip_listed"] is True
    miss, features = screen(index, payment(ip=outside))
    assert miss.deny == () and features["ip_listed"] is False


def test_a_range_written_with_host_bits_covers_its_whole_network():
    index = ListIndex([entry("deny", "ip", "203.0.113.9/24")])
    assert screen(index, payment(ip="203.0.113.200"))[0].deny
    assert not screen(index, payment(ip="203.0.114.9"))[0].deny


def test_overlapping_ranges_all_match():
    index = ListIndex(
        [
            entry("deny", "ip", "10.0.0.0/8"),
            entry("watch", "ip", "10.1.0.0/16"),
            entry("watch", "ip", "10.2.0.0/16"),
        ]
    )
    result, _ = screen(index, payment(ip="10.1.2.3"))
    assert [e.value for e in result.deny] == ["10.0.0.0/8"]
    assert [e.value for e in result.watch] == ["10.1.0.0/16"]


def test_an_exact_ip_and_the_range_holding_it_both_match():
    index = ListIndex([entry("deny", "ip", "192.0.2.1"), entry("watch", "ip", "192.0.2.0/28")])
    result, _ = screen(index, payment(ip="192.0.2.1"))
    assert [e.value for e in result.deny] == ["192.0.2.1"]
    assert [e.value for e in result.watch] == ["192.0.2.0/28"]
    neighbour, _ = screen(index, payment(ip="192.0.2.2"))  # in the range, not the exact entry
    assert neighbour.deny == () and len(neighbour.watch) == 1


@pytest.mark.parametrize(
    "junk", ["not-an-ip", "not:an:ip", "999.1.1.1", "fe80::1%eth0", " ", "::g"]
)
def test_an_ip_that_is_not_an_address_matches_no_range_and_does_not_crash(junk):
    index = ListIndex([entry("deny", "ip", "0.0.0.0/0"), entry("deny", "ip", "::/0")])
    result, features = screen(index, payment(ip=junk))
    assert result.deny == () and features["ip_listed"] is False


def test_an_exact_ip_entry_is_matched_by_its_text_even_when_it_is_no_address():
    # Upstream systems sometimes put a proxy label where the address should be.
    index = ListIndex([entry("deny", "ip", "proxy-pool-7"), entry("deny", "ip", "10.0.0.0/8")])
    assert screen(index, payment(ip="proxy-pool-7"))[0].deny
    assert screen(index, login(ip="proxy-pool-7"))[0].deny


# --- precedence: deny, then allow, then watch -----------------------------------


def test_deny_cannot_be_lifted_by_an_allow_entry_that_suppresses_everything():
    index = ListIndex(
        [
            entry("deny", "payee", "MULE"),
            allow("payee", "MULE", "watch", "denylist_payee", "velocity_burst"),
            entry("watch", "payee", "MULE"),
        ]
    )
    result, features = screen(index, payment(payee_account="MULE"))
    assert [e.id for e in result.deny] == ["deny:payee:MULE"]
    assert features["payee_listed"] is True  # the deny rule still sees the flag
    assert result.watch == ()  # what the allow entry can silence, it does
    assert result.suppressed_rules == {"watch", "denylist_payee", "velocity_burst"}


def test_deny_on_one_entity_survives_an_allow_on_another():
    index = ListIndex([entry("deny", "ip", "203.0.113.0/24"), allow("account", "A1", "watch")])
    result, _ = screen(index, payment(ip="203.0.113.5"))
    assert [e.entity for e in result.deny] == ["ip"]
    assert [e.entity for e in result.allow] == ["account"]


def test_an_allow_entry_suppresses_the_rules_it_names_but_not_watch_hits():
    index = ListIndex(
        [allow("device", "D1", "new_device_large_payment"), entry("watch", "device", "D1")]
    )
    result, _ = screen(index, payment(device_id="D1"))
    assert result.suppressed_rules == {"new_device_large_payment"}
    assert [e.id for e in result.watch] == ["watch:device:D1"]


def test_suppress_watch_silences_watch_hits():
    index = ListIndex([allow("merchant", "SHOP", "watch"), entry("watch", "merchant", "SHOP")])
    result, features = screen(index, payment(merchant_id="SHOP"))
    assert result.watch == ()
    assert [e.id for e in result.allow] == ["allow:merchant:SHOP"]
    assert features["merchant_listed"] is False  # allow is not deny


def test_an_allow_entry_applies_only_when_its_entity_is_in_the_event():
    index = ListIndex(
        [allow("device", "D1", "watch", "velocity_burst"), entry("watch", "payee", "P1")]
    )
    result, _ = screen(index, payment(device_id="D2", payee_account="P1"))
    assert len(result.watch) == 1 and result.allow == ()
    assert result.suppressed_rules == frozenset()


def test_suppressions_of_several_allow_entries_add_up():
    index = ListIndex([allow("device", "D1", "rule_a"), allow("account", "A1", "rule_b")])
    result, _ = screen(index, payment(device_id="D1"))
    assert result.suppressed_rules == {"rule_a", "rule_b"}


# --- watch entries: channels and amounts -----------------------------------------


def test_watch_entries_apply_to_their_channels_and_from_their_amount_only():
    index = ListIndex(
        [entry("watch", "merchant", "SHOP", channels=["pos", "online"], min_amount=1000.0)]
    )

    def watched(amount: float, channel: str) -> bool:
        return bool(
            screen(index, payment(merchant_id="SHOP", amount=amount, channel=channel))[0].watch
        )

    assert watched(1000.0, "pos") and watched(1000.0, "online")  # min_amount is inclusive
    assert not watched(999.99, "pos")
    assert not watched(5000.0, "atm") and not watched(5000.0, "mobile")


def test_a_watch_entry_without_channels_or_amount_applies_everywhere():
    index = ListIndex([entry("watch", "device", "D1", action="challenge")])
    for channel in ("atm", "pos", "branch", "mobile"):
        result, features = screen(index, payment(device_id="D1", amount=0.01, channel=channel))
        assert [e.action for e in result.watch] == ["challenge"]
        assert features["device_listed"] is False  # a watch hit is not a deny
    assert screen(index, login(device_id="D1", channel="atm"))[0].watch


def test_a_login_moves_no_money_so_an_amount_bound_watch_never_applies():
    index = ListIndex(
        [
            entry("watch", "ip", "198.51.100.7", min_amount=1.0),
            entry("watch", "device", "D1", channels=["mobile"]),
        ]
    )
    result, _ = screen(index, login(ip="198.51.100.7", device_id="D1", channel="mobile"))
    assert [e.entity for e in result.watch] == ["device"]
    assert not screen(index, login(device_id="D1", channel="online"))[0].watch


# --- expiry -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["MULE", "203.0.113.0/24"])
def test_expired_entries_are_ignored_at_lookup_but_kept(value):
    entity = "ip" if "/" in value else "payee"
    index = ListIndex([entry("deny", entity, value, expires_at=T + timedelta(minutes=5))])
    event = payment(payee_account="MULE", ip="203.0.113.1")
    assert screen(index, event, NOW + 299)[0].deny
    expired, features = screen(index, event, NOW + 300)  # expires_at itself is already past
    assert expired.deny == () and features[f"{entity}_listed"] is False
    # The sweep removes and audits it; lookups never wait for that.
    assert len(index) == 1 and index.get(f"deny:{entity}:{value}") is not None
    assert screen(index, event, NOW)[0].deny  # nothing was forgotten


def test_an_expired_allow_entry_no_longer_silences_anything():
    index = ListIndex(
        [
            allow(
                "device",
                "D1",
                "watch",
                "new_device_large_payment",
                expires_at=T + timedelta(hours=1),
            ),
            entry("watch", "device", "D1"),
        ]
    )
    before, _ = screen(index, payment(device_id="D1"), NOW + 3599)
    assert before.watch == () and before.suppressed_rules
    after, _ = screen(index, payment(device_id="D1"), NOW + 3600)
    assert len(after.watch) == 1 and after.suppressed_rules == frozenset() and after.allow == ()


def test_lookup_reports_only_active_entries():
    index = ListIndex(
        [entry("deny", "payee", "MULE", expires_at=T), entry("watch", "payee", "MULE")]
    )
    assert [e.kind for e in index.lookup("payee", "MULE", NOW - 1)] == ["deny", "watch"]
    assert [e.kind for e in index.lookup("payee", "MULE", NOW)] == ["watch"]


# --- maintaining the index -------------------------------------------------------


def test_put_replaces_an_entry_with_the_same_id():
    index = ListIndex([entry("deny", "payee", "MULE", reason="first", expires_at=T)])
    assert not screen(index, payment(payee_account="MULE"))[0].deny  # expired
    index.put(entry("deny", "payee", "MULE", reason="renewed", expires_at=LATER))
    assert len(index) == 1
    assert [e.reason for e in screen(index, payment(payee_account="MULE"))[0].deny] == ["renewed"]
    assert index.get("deny:payee:MULE").reason == "renewed"


def test_put_replaces_a_range_entry_without_leaving_a_duplicate():
    index = ListIndex([entry("deny", "ip", "10.0.0.0/8", reason="first")])
    index.put(entry("deny", "ip", "10.0.0.0/8", reason="second"))
    assert len(index) == 1
    assert [e.reason for e in screen(index, payment(ip="10.9.9.9"))[0].deny] == ["second"]


def test_entries_on_different_lists_for_the_same_value_coexist():
    index = ListIndex([entry("deny", "payee", "MULE"), entry("watch", "payee", "MULE")])
    assert len(index) == 2
    assert index.remove("deny:payee:MULE")
    result, features = screen(index, payment(payee_account="MULE"))
    assert result.deny == () and [e.id for e in result.watch] == ["watch:payee:MULE"]
    assert features["payee_listed"] is False


def test_removing_one_of_two_entries_on_the_same_range_keeps_the_other():
    index = ListIndex([entry("deny", "ip", "10.0.0.0/8"), entry("watch", "ip", "10.0.0.0/8")])
    assert index.remove("deny:ip:10.0.0.0/8")
    result, _ = screen(index, payment(ip="10.1.1.1"))
    assert result.deny == () and [e.kind for e in result.watch] == ["watch"]


def test_remove_forgets_exact_and_range_entries_and_len_follows():
    index = ListIndex(
        [
            entry("deny", "payee", "MULE"),
            entry("deny", "ip", "10.0.0.0/8"),
            entry("deny", "ip", "203.0.113.9/24"),  # removed by the id it was listed under
            entry("deny", "ip", "2001:db8::/32"),
        ]
    )
    assert len(index) == 4
    for n, entry_id in enumerate(
        ["deny:ip:10.0.0.0/8", "deny:payee:MULE", "deny:ip:203.0.113.9/24", "deny:ip:2001:db8::/32"]
    ):
        assert index.remove(entry_id)
        assert len(index) == 3 - n and index.get(entry_id) is None
    assert not index.remove("deny:payee:MULE")  # already gone
    assert index.entries() == []
    event = payment(payee_account="MULE", ip="10.1.2.3")
    for ip in ("10.1.2.3", "203.0.113.1", "2001:db8::1"):
        result, features = screen(index, payment(payee_account="MULE", ip=ip))
        assert result.deny == () and not any(features.values())
    # An emptied index is as good as new.
    index.put(entry("deny", "ip", "10.0.0.0/8"))
    assert screen(index, event)[0].deny


def test_entries_and_get_list_what_was_put():
    listed = [entry("deny", "payee", "MULE"), allow("device", "D1", "watch")]
    index = ListIndex(listed)
    assert sorted(e.id for e in index.entries()) == ["allow:device:D1", "deny:payee:MULE"]
    assert index.get("allow:device:D1") == listed[1]
    assert index.get("allow:device:D2") is None


# --- validation ---------------------------------------------------------------------


def test_allow_entries_need_an_expiry_and_something_to_suppress():
    with pytest.raises(ValueError, match="expiry"):
        entry("allow", "device", "D1", suppress=["watch"]).validate()
    with pytest.raises(ValueError, match="suppress"):
        entry("allow", "device", "D1", expires_at=LATER).validate()
    with pytest.raises(ValueError, match="suppress"):
        entry("allow", "device", "D1", expires_at=LATER, suppress=[]).validate()
    ok = allow("device", "D1", "watch")
    assert ok.validate() is ok


def test_deny_and_watch_entries_need_no_expiry_but_ranges_must_parse():
    for kind in ("deny", "watch"):
        assert entry(kind, "payee", "MULE").validate().expires_at is None
    assert entry("deny", "ip", "2001:db8::/48").validate()
    for bad in ("10.0.0.0/33", "10.0.0/8x", "2001:db8::/129"):
        with pytest.raises(ValueError):
            entry("deny", "ip", bad).validate()


def test_an_allow_entry_silences_watch_hits_on_its_own_entity_only():
    index = ListIndex(
        [
            entry("allow", "device", "D1", expires_at=T + timedelta(hours=1), suppress=["watch"]),
            entry("watch", "device", "D1"),
            entry("watch", "ip", "10.0.0.0/8"),
        ]
    )
    result = screen(index, payment(device_id="D1", ip="10.1.2.3"))[0]
    assert [e.entity for e in result.watch] == ["ip"]


def test_ip_entries_and_events_match_whatever_the_spelling():
    listed = entry("deny", "ip", "2001:DB8:0:0::1").validate()
    assert listed.value == "2001:db8::1"
    index = ListIndex([listed, entry("deny", "ip", "2001:DB8:1::/48").validate()])
    assert screen(index, payment(ip="2001:0db8::0001"))[0].deny
    assert screen(index, payment(ip="2001:db8:1:ffff::9"))[0].deny


def test_a_watch_entry_with_no_channels_is_refused():
    with pytest.raises(ValueError, match="channel"):
        entry("watch", "merchant", "M1", channels=[]).validate()
