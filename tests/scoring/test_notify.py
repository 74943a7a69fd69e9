"""What the customer is told after a decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contract.messages import Decision, Login, Payment, Reason
from scoring.notify import PLAIN_WORDS, NotificationPolicy, notifications_for

T = datetime(2026, 11, 24, 10, tzinfo=UTC)


def decision(action: str, *codes: str) -> Decision:
    return Decision(
        event_id="E1",
        account_id="A1",
        event_type="payment",
        event_ts=T.isoformat(),
        ts=T.isoformat(),
        action=action,  # type: ignore[arg-type]
        score=0.5,
        reasons=[Reason(c, "detail for staff") for c in codes],
        rules_version="v",
        model_version="m",
        latency_ms=1.0,
    )


def transfer(amount: float = 300.0, channel: str = "mobile") -> Payment:
    return Payment(
        event_id="E1",
        ts=T,
        account_id="A1",
        amount=amount,
        currency="CNY",
        channel=channel,
        txn_type="transfer",
        payee_account="6222",
    )


def login(success: bool = True, channel: str = "online") -> Login:
    return Login(event_id="E1", ts=T, account_id="A1", channel=channel, success=success)


POLICY = NotificationPolicy()


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("block", "transfer_intercepted"),
        ("challenge", "transfer_challenged"),
        ("review", "transfer_under_review"),
    ],
)
def test_a_payment_that_was_not_simply_allowed_is_explained_in_plain_words(action, kind):
    notes = notifications_for(transfer(), {}, decision(action, "X_UNKNOWN", "DENY_PAYEE"), POLICY)
    assert [n.type for n in notes] == [kind]
    note = notes[0]
    # The first reason with plain words is used; codes and staff details never reach the customer.
    assert PLAIN_WORDS["DENY_PAYEE"] in note.text
    assert "DENY_PAYEE" not in note.text and "detail for staff" not in note.text
    assert note.notification_id == f"{kind}:E1" and note.event_id == "E1"
    assert note.account_id == "A1" and note.channel == "app"


def test_large_allowed_transfers_are_reported_and_small_ones_are_not():
    big = notifications_for(transfer(50_000.0), {}, decision("allow"), POLICY)
    assert [n.type for n in big] == ["large_transfer"] and "50,000.00 CNY" in big[0].text
    assert notifications_for(transfer(49_999.99), {}, decision("allow"), POLICY) == []


def test_logins_from_new_devices_and_locks():
    seen = {"is_new_device": True, "known_devices": 2}
    new_device = notifications_for(login(), seen, decision("allow"), POLICY)
    assert [n.type for n in new_device] == ["new_device_login"]
    first = {"is_new_device": True, "known_devices": 0}
    assert notifications_for(login(), first, decision("allow"), POLICY) == []
    known = notifications_for(login(), {"is_new_device": False}, decision("allow"), POLICY)
    assert known == []
    failed = notifications_for(login(False), seen, decision("allow"), POLICY)
    assert failed == []  # nobody got in
    locked = notifications_for(
        login(), {"account_locked": True}, decision("block", "ACCOUNT_LOCKED"), POLICY
    )
    assert [n.type for n in locked] == ["account_locked"]


def test_the_same_event_gives_the_same_ids_so_replays_deduplicate():
    first = notifications_for(transfer(), {}, decision("block"), POLICY)
    again = notifications_for(transfer(), {}, decision("block"), POLICY)
    assert [n.notification_id for n in first] == [n.notification_id for n in again]


def test_each_kind_can_be_switched_off_and_channels_follow_the_event():
    off = NotificationPolicy(intercepted=False, large_transfer=float("inf"), new_device_login=False)
    assert notifications_for(transfer(), {}, decision("block"), off) == []
    assert notifications_for(transfer(1e6), {}, decision("allow"), off) == []
    seen = {"is_new_device": True, "known_devices": 1}
    assert notifications_for(login(), seen, decision("allow"), off) == []
    assert (
        notifications_for(transfer(), {}, decision("block"), NotificationPolicy(enabled=False))
        == []
    )
    at_branch = notifications_for(transfer(channel="branch"), {}, decision("review"), POLICY)
    assert at_branch[0].channel == "sms"
