"""From features to a decision: lists, limits, rules and the lock, with the packaged ruleset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contract.messages import Login, Payment
from features.account import AccountState, FeatureConfig
from features.catalog import defaults
from scoring.decide import Decider
from scoring.lists.entries import ListEntry
from scoring.lists.index import ListIndex
from scoring.policy import Policy
from scoring.rules.reload import RulesetHolder
from scoring.rules.ruleset import DEFAULT_RULESET_PATH

T = datetime(2026, 11, 24, 10, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def decider(lists: ListIndex | None = None, clock: Clock | None = None) -> Decider:
    return Decider(
        RulesetHolder(DEFAULT_RULESET_PATH),
        lists or ListIndex(),
        Policy(),
        clock=clock or Clock(T),
    )


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
        "channel": "mobile",
        "txn_type": "transfer",
        "auth_method": "token",
    } | kw
    return Payment(**fields)


def features_for(event: Payment, **kw) -> dict:
    return (
        defaults()
        | {
            "event_type": "payment",
            "txn_type": event.txn_type,
            "amount": event.amount,
            "daily_total": event.amount,
        }
        | kw
    )


def test_a_deny_hit_blocks_with_the_list_reason_first_and_raises_an_alert():
    lists = ListIndex([entry("deny", "payee", "MULE", reason="mule account")])
    event = payment(payee_account="MULE", branch_id="BR7")
    verdict = decider(lists).decide(event, features_for(event), None, T.timestamp())
    assert verdict.decision.action == "block"
    first = verdict.decision.reasons[0]
    assert first.code == "DENY_PAYEE" and "deny:payee:MULE" in first.detail
    assert "police" in first.detail
    assert verdict.alert is not None and verdict.alert.branch_id == "BR7"
    assert verdict.list_hits == (("deny", "payee", "police"),)
    assert [n.type for n in verdict.notifications] == ["transfer_intercepted"]


def test_a_quiet_payment_is_allowed_without_reasons():
    event = payment()
    verdict = decider().decide(event, features_for(event), None, T.timestamp())
    assert verdict.decision.action == "allow" and verdict.decision.reasons == []
    assert verdict.alert is None and verdict.notifications == ()


def test_an_allow_entry_silences_its_rule_for_its_entity_until_it_expires():
    clock = Clock(T)
    lists = ListIndex(
        [
            entry(
                "allow",
                "device",
                "D-NEW",
                reason="customer's new phone, verified in branch",
                source="branch",
                expires_at=T + timedelta(hours=2),
                suppress=["new_device_large_payment"],
            )
        ]
    )
    risky = {"is_new_device": True, "amount_ratio_to_max": 3.0}
    make = decider(lists, clock)

    def decide(device: str) -> str:
        event = payment(amount=8000.0, device_id=device)
        f = features_for(event, **risky)
        return make.decide(event, f, None, clock.now).decision.action

    assert decide("D-NEW") == "allow"
    assert decide("D-OTHER") == "challenge"  # only the listed device is let through
    clock.now = (T + timedelta(hours=2)).timestamp()
    assert decide("D-NEW") == "challenge"  # expired: the rule fires again


def test_watch_entries_ask_for_what_they_say():
    lists = ListIndex([entry("watch", "merchant", "SHOP", action="review", min_amount=500.0)])
    event = payment(txn_type="card", merchant_id="SHOP", amount=900.0, channel="pos")
    verdict = decider(lists).decide(event, features_for(event), None, T.timestamp())
    assert verdict.decision.action == "review"
    assert "WATCH_MERCHANT" in [r.code for r in verdict.decision.reasons]
    assert ("watch_merchant", "review") in verdict.hits


def test_a_payment_over_the_password_limit_is_challenged_to_step_up():
    event = payment(amount=6000.0, auth_method="password")
    verdict = decider().decide(event, features_for(event), None, T.timestamp())
    assert verdict.decision.action == "challenge"
    reason = next(r for r in verdict.decision.reasons if r.code == "LIMIT_STEP_UP")
    assert "password" in reason.detail and "step up to card_pin" in reason.detail
    assert [n.type for n in verdict.notifications] == ["transfer_challenged"]


def test_the_daily_limit_starts_again_after_local_midnight():
    # 15:59 UTC is 23:59 in Shanghai; 16:01 UTC is the next local day.
    state = AccountState(FeatureConfig(timezone="Asia/Shanghai"))
    make = decider()
    evening = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)

    def pay(eid: str, at: datetime, amount: float) -> str:
        event = payment(event_id=eid, ts=at, amount=amount, auth_method="password")
        f = state.on_payment(event, at.timestamp(), at.hour)
        return make.decide(event, f, None, at.timestamp()).decision.action

    assert pay("p1", evening, 5000.0) == "allow"
    assert pay("p2", evening + timedelta(minutes=59), 5000.0) == "allow"  # 10,000: at the limit
    assert pay("p3", evening + timedelta(minutes=59, seconds=30), 1.0) == "challenge"
    assert pay("p4", evening + timedelta(minutes=61), 5000.0) == "allow"  # a new local day


def test_logins_after_five_failures_are_blocked_until_a_strong_login():
    state = AccountState()
    make = decider()

    def attempt(i: int, success: bool, method: str = "password"):
        at = T + timedelta(minutes=i)
        event = Login(
            event_id=f"L{i}",
            ts=at,
            account_id="A1",
            channel="online",
            success=success,
            auth_method=method,
            device_id="D1",
        )
        f = state.on_login(event, at.timestamp(), at.hour)
        return make.decide(event, f, None, at.timestamp())

    for i in range(5):
        assert attempt(i, False).decision.action != "block"
    locked = attempt(5, True)  # the right password, but too late
    assert locked.decision.action == "block"
    assert locked.decision.reasons[0].code == "ACCOUNT_LOCKED"
    assert [n.type for n in locked.notifications] == ["account_locked"]
    assert attempt(6, True, "usb_key").decision.action != "block"
    assert attempt(7, True).decision.action == "allow"
