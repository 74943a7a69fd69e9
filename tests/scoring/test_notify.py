"""What the customer is told after a decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from riskflow.contract.messages import Channel, Decision, Login, Payment, Reason
from riskflow.scoring.notify import PLAIN_WORDS, NotificationPolicy, notifications_for

T = datetime(2026, 11, 24, 10, tzinfo=UTC)
POLICY = NotificationPolicy()
SEEN_BEFORE = {"is_new_device": True, "known_devices": 2}
"""A login from a new device on an account that already has others."""


def decision(action: str, *codes: str, ts: datetime = T) -> Decision:
    return Decision(
        event_id="E1",
        account_id="A1",
        event_type="payment",
        event_ts=T.isoformat(),
        ts=ts.isoformat(),
        action=action,  # type: ignore[arg-type]
        score=0.5,
        reasons=[Reason(c, "detail for staff") for c in codes],
        rules_version="v",
        model_version="m",
        latency_ms=1.0,
    )


def transfer(amount: float = 300.0, channel: str = "mobile", **kw) -> Payment:
    fields = {"payee_account": "6222021234567890", "event_id": "E1"} | kw
    return Payment(
        ts=T,
        account_id="A0000001",
        amount=amount,
        currency="CNY",
        channel=channel,  # type: ignore[arg-type]
        txn_type="transfer",
        **fields,
    )


def login(success: bool = True, channel: str = "online") -> Login:
    return Login(event_id="E1", ts=T, account_id="A1", channel=channel, success=success)  # type: ignore[arg-type]


def kinds(event, features, dec, policy=POLICY) -> list[str]:
    return [n.type for n in notifications_for(event, features, dec, policy)]


# --- payments ----------------------------------------------------------------------------


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
    assert "DENY_PAYEE" not in note.text and "X_UNKNOWN" not in note.text
    assert "detail for staff" not in note.text
    # The payee by its last digits, as the customer's app shows it; the account masked too.
    assert "300.00 CNY to ****7890" in note.text and "6222021234567890" not in note.text
    assert note.notification_id == f"{kind}:E1" and note.event_id == "E1"
    assert note.account_id == "A****0001" and note.channel == "app"
    assert note.created_at == T.isoformat()


@pytest.mark.parametrize("code", sorted(PLAIN_WORDS))
def test_every_known_reason_has_its_own_plain_words(code):
    (note,) = notifications_for(transfer(), {}, decision("block", code), POLICY)
    assert PLAIN_WORDS[code] in note.text and code not in note.text


def test_the_first_explainable_reason_wins():
    (note,) = notifications_for(
        transfer(), {}, decision("review", "CARD_TESTING", "DENY_PAYEE"), POLICY
    )
    assert PLAIN_WORDS["CARD_TESTING"] in note.text
    assert PLAIN_WORDS["DENY_PAYEE"] not in note.text


def test_reasons_without_plain_words_fall_back_to_a_neutral_explanation():
    for dec in (decision("block", "MODEL_SCORE"), decision("block")):
        (note,) = notifications_for(transfer(), {}, dec, POLICY)
        assert "it looks unusual for your account" in note.text
        assert "MODEL_SCORE" not in note.text


def test_a_payment_without_a_payee_does_not_name_one():
    (note,) = notifications_for(transfer(payee_account=None), {}, decision("block"), POLICY)
    assert "300.00 CNY because" in note.text and " to " not in note.text.split("because")[0]


def test_large_allowed_transfers_are_reported_and_smaller_ones_are_not():
    big = notifications_for(transfer(50_000.0), {}, decision("allow"), POLICY)
    assert [n.type for n in big] == ["large_transfer"] and "50,000.00 CNY" in big[0].text
    assert big[0].notification_id == "large_transfer:E1"
    assert kinds(transfer(49_999.99), {}, decision("allow")) == []
    lower = NotificationPolicy(large_transfer=1_000.0)
    assert kinds(transfer(1_000.0), {}, decision("allow"), lower) == ["large_transfer"]


def test_a_large_transfer_that_was_stopped_is_told_as_stopped_only():
    assert kinds(transfer(1e6), {}, decision("block")) == ["transfer_intercepted"]


def test_payment_features_never_trigger_login_notifications():
    busy = SEEN_BEFORE | {"account_locked": True}
    assert kinds(transfer(), busy, decision("allow")) == []


# --- logins ------------------------------------------------------------------------------


def test_a_successful_login_from_a_new_device_is_reported():
    (note,) = notifications_for(login(channel="mobile"), SEEN_BEFORE, decision("allow"), POLICY)
    assert note.type == "new_device_login" and note.notification_id == "new_device_login:E1"
    assert "mobile" in note.text and note.channel == "app"


def test_logins_that_are_not_news_are_not_reported():
    first = {"is_new_device": True, "known_devices": 0}
    assert kinds(login(), first, decision("allow")) == []  # the account's first device
    assert kinds(login(), {"is_new_device": False, "known_devices": 3}, decision("allow")) == []
    assert kinds(login(False), SEEN_BEFORE, decision("allow")) == []  # nobody got in
    assert kinds(login(), {}, decision("allow")) == []


def test_a_login_refused_by_the_lock_is_reported_as_a_lock():
    locked = {"account_locked": True} | SEEN_BEFORE
    assert kinds(login(), locked, decision("block", "ACCOUNT_LOCKED")) == ["account_locked"]
    assert kinds(login(False), locked, decision("block", "ACCOUNT_LOCKED")) == ["account_locked"]


def test_a_block_that_is_not_a_lock_is_not_reported_as_one():
    unlocked = {"account_locked": False, "is_new_device": False}
    assert kinds(login(), unlocked, decision("block", "DENY_DEVICE")) == []
    # A lock the decision did not act on is no reason to tell the customer either.
    assert "account_locked" not in kinds(login(False), {"account_locked": True}, decision("allow"))


# --- replays, switches and channels ---------------------------------------------------


def test_a_replayed_event_gives_the_same_ids_so_the_sender_can_deduplicate():
    # A replay decides again, later: the decision time differs, the id must not.
    first = notifications_for(transfer(), {}, decision("block"), POLICY)
    again = notifications_for(
        transfer(), {}, decision("block", ts=datetime(2026, 11, 25, tzinfo=UTC)), POLICY
    )
    assert [n.notification_id for n in first] == [n.notification_id for n in again]
    other = notifications_for(transfer(event_id="E2"), {}, decision("block"), POLICY)
    assert [n.notification_id for n in other] == ["transfer_intercepted:E2"]


@pytest.mark.parametrize(
    ("switch", "event", "features", "action"),
    [
        ("intercepted", transfer(), {}, "block"),
        ("challenged", transfer(), {}, "challenge"),
        ("under_review", transfer(), {}, "review"),
        ("new_device_login", login(), SEEN_BEFORE, "allow"),
        ("account_locked", login(), {"account_locked": True}, "block"),
    ],
)
def test_each_kind_can_be_switched_off_on_its_own(switch, event, features, action):
    assert len(kinds(event, features, decision(action))) == 1
    off = NotificationPolicy(**{switch: False})
    assert kinds(event, features, decision(action), off) == []
    # Switching one kind off leaves the others on.
    assert kinds(transfer(1e6), {}, decision("allow"), off) == ["large_transfer"]


def test_large_transfer_notices_are_switched_off_by_an_unreachable_threshold():
    off = NotificationPolicy(large_transfer=float("inf"))
    assert kinds(transfer(1e9), {}, decision("allow"), off) == []


def test_notifications_can_be_switched_off_altogether():
    off = NotificationPolicy(enabled=False)
    assert kinds(transfer(), {}, decision("block"), off) == []
    assert kinds(transfer(1e6), {}, decision("allow"), off) == []
    assert kinds(login(), SEEN_BEFORE, decision("allow"), off) == []
    assert kinds(login(), {"account_locked": True}, decision("block"), off) == []


@pytest.mark.parametrize("channel", Channel.__args__)  # type: ignore[attr-defined]
def test_app_for_digital_channels_and_sms_for_the_rest(channel):
    expected = "app" if channel in ("mobile", "online") else "sms"
    (paid,) = notifications_for(transfer(channel=channel), {}, decision("review"), POLICY)
    (signed_in,) = notifications_for(login(channel=channel), SEEN_BEFORE, decision("allow"), POLICY)
    assert paid.channel == signed_in.channel == expected


def test_a_refused_login_from_a_new_device_is_not_reported_as_a_sign_in():
    seen = {"is_new_device": True, "known_devices": 3}
    for action in ("block", "challenge", "review"):
        notes = notifications_for(login(), seen, decision(action), NotificationPolicy())
        assert "new_device_login" not in [n.type for n in notes]
