"""From features to a decision: lists, limits, rules and the lock, with the packaged ruleset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskflow.contract.messages import Login, Payment
from riskflow.features.account import AccountState, FeatureConfig
from riskflow.features.catalog import defaults
from riskflow.scoring.decide import Decider, ListSource
from riskflow.scoring.limits import DEFAULT_LIMITS, LimitsTable
from riskflow.scoring.lists.csvfile import FileLists
from riskflow.scoring.lists.entries import ENTITIES, ListEntry
from riskflow.scoring.lists.index import ListIndex
from riskflow.scoring.notify import PLAIN_WORDS
from riskflow.scoring.policy import Policy
from riskflow.scoring.priors import Priors, prior
from riskflow.scoring.rules.reload import RulesetHolder
from riskflow.scoring.rules.ruleset import DEFAULT_RULESET_PATH

T = datetime(2026, 11, 24, 10, tzinfo=UTC)
RULE_IDS = [r.id for r in RulesetHolder(DEFAULT_RULESET_PATH).current().rules]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def decider(
    lists: ListSource | None = None, clock: Clock | None = None, policy: Policy | None = None
) -> Decider:
    return Decider(
        RulesetHolder(DEFAULT_RULESET_PATH),
        lists or ListIndex(),
        policy or Policy(),
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
    """A quiet account's features for this payment, with `kw` overriding them."""
    return (
        defaults()
        | {
            "event_type": "payment",
            "channel": event.channel,
            "txn_type": event.txn_type,
            "amount": event.amount,
            "auth_method": event.auth_method,
            "daily_total": event.amount,
        }
        | kw
    )


def decide(make: Decider, event: Payment, **features):
    # The event arrived a few milliseconds before the decision; lists are checked at decision time.
    received_at = make.clock() - 0.005
    return make.decide(event, features_for(event, **features), None, received_at)


# --- deny --------------------------------------------------------------------------------


def test_a_deny_payee_hit_blocks_with_the_list_reason_first_and_raises_an_alert():
    mule = "6222021234567890"
    lists = ListIndex([entry("deny", "payee", mule, reason="mule account")])
    event = payment(account_id="A0001234", payee_account=mule, branch_id="BR7")
    verdict = decide(decider(lists), event)
    assert verdict.decision.action == "block" and verdict.decision.score >= 0.99
    # The payment pipeline acts on the account; people read the payee by its last digits.
    assert verdict.decision.account_id == "A0001234"
    first = verdict.decision.reasons[0]
    assert first.code == "DENY_PAYEE"
    for part in ("deny:payee:****7890", "police", "mule account"):
        assert part in first.detail
    alert = verdict.alert
    assert alert is not None and alert.action == "block" and alert.branch_id == "BR7"
    assert alert.severity == "critical" and alert.reasons[0] == first
    assert alert.account_id == "A****1234" and alert.event_id == event.event_id
    assert "A****1234" in alert.summary and "****7890" in alert.summary
    assert mule not in repr(alert) and "A0001234" not in repr(alert)
    assert verdict.list_hits == (("deny", "payee", "police"),)
    (note,) = verdict.notifications
    assert note.type == "transfer_intercepted" and PLAIN_WORDS["DENY_PAYEE"] in note.text


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_deny_hit_on_any_entity_of_a_payment_blocks(entity):
    values = {"payee_account": "X", "device_id": "X", "ip": "X", "merchant_id": "X"}
    event = payment(account_id="X", terminal_id="X", **values)
    verdict = decide(decider(ListIndex([entry("deny", entity, "X")])), event)
    assert verdict.decision.action == "block"
    assert verdict.decision.reasons[0].code == f"DENY_{entity.upper()}"


def test_nothing_lifts_a_deny_not_even_an_allow_entry_that_suppresses_every_rule():
    silence_all = [*RULE_IDS, "limit_per_txn", "limit_daily", "watch"]
    lists = ListIndex(
        [
            entry("deny", "payee", "MULE"),
            entry("allow", "payee", "MULE", expires_at=T + timedelta(days=1), suppress=silence_all),
            entry("allow", "account", "A1", expires_at=T + timedelta(days=1), suppress=silence_all),
        ]
    )
    verdict = decide(decider(lists), payment(payee_account="MULE"))
    # The rules were silenced (the deny-list rule among them), so they alone would allow it ...
    assert verdict.hits == ()
    # ... but the deny entry blocks regardless, and says so first.
    assert verdict.decision.action == "block"
    assert verdict.decision.reasons[0].code == "DENY_PAYEE"
    assert verdict.alert is not None and verdict.alert.severity == "critical"


def test_a_deny_hit_blocks_even_under_a_policy_that_never_blocks_by_score():
    # With the deny-list rule silenced and no score reaching 1.0, only the deny entry can block.
    lenient = Policy(challenge=0.3, review=0.6, block=1.0)
    lists = ListIndex(
        [
            entry("deny", "payee", "MULE"),
            entry(
                "allow",
                "payee",
                "MULE",
                expires_at=T + timedelta(days=1),
                suppress=["denylist_payee"],
            ),
        ]
    )
    verdict = decide(decider(lists, policy=lenient), payment(payee_account="MULE"))
    assert verdict.decision.score < lenient.block and verdict.hits == ()
    assert verdict.decision.action == "block"


def test_a_denied_device_blocks_a_login():
    lists = ListIndex([entry("deny", "device", "EVIL", source="partner_bank")])
    event = Login(
        event_id="L1", ts=T, account_id="A1", channel="online", success=True, device_id="EVIL"
    )
    features = defaults() | {"event_type": "login", "login_success": True}
    verdict = decider(lists).decide(event, features, None, T.timestamp())
    assert verdict.decision.action == "block"
    assert verdict.decision.reasons[0].code == "DENY_DEVICE"
    assert "partner_bank" in verdict.decision.reasons[0].detail


def test_lists_read_from_a_csv_file_block_too(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("entity,value,reason,source\npayee,MULE,mule account,partner_bank\n")
    verdict = decide(decider(FileLists(path)), payment(payee_account="MULE"))
    assert verdict.decision.action == "block"
    first = verdict.decision.reasons[0]
    # A value of 4 characters or fewer is masked whole.
    assert first.code == "DENY_PAYEE" and "deny:payee:****," in first.detail
    assert "MULE" not in first.detail and "partner_bank" in first.detail


# --- allow --------------------------------------------------------------------------------


def test_a_quiet_payment_is_allowed_without_reasons():
    verdict = decide(decider(), payment())
    assert verdict.decision.action == "allow" and verdict.decision.reasons == []
    assert verdict.alert is None and verdict.notifications == () and verdict.list_hits == ()


def test_an_allowed_payment_carries_no_reasons_even_with_weak_evidence():
    # A new device is weak evidence: some score, far below a challenge.
    verdict = decide(decider(), payment(), is_new_device=True)
    assert 0 < verdict.decision.score < Policy().challenge
    assert verdict.decision.action == "allow" and verdict.decision.reasons == []


def test_an_allow_entry_silences_its_rule_for_its_entity_until_it_expires():
    expiry = T + timedelta(hours=2)
    clock = Clock(T)
    lists = ListIndex(
        [
            entry(
                "allow",
                "device",
                "D-NEW",
                reason="customer's new phone, verified in branch",
                source="branch",
                expires_at=expiry,
                suppress=["new_device_large_payment"],
            )
        ]
    )
    make = decider(lists, clock)
    # Fires the default rule new_device_large_payment: a new device, >= 5,000, >= 1.5x the max.
    risky = {"is_new_device": True, "amount_ratio_to_max": 3.0}

    def verdict(device: str):
        return decide(make, payment(amount=8000.0, device_id=device), **risky)

    allowed = verdict("D-NEW")
    assert allowed.decision.action == "allow"
    assert allowed.decision.latency_ms == pytest.approx(5.0)
    assert "new_device_large_payment" not in dict(allowed.hits)
    other = verdict("D-OTHER")  # only the listed device is let through
    assert other.decision.action == "challenge"
    assert dict(other.hits)["new_device_large_payment"] == "challenge"

    clock.now = expiry.timestamp() - 1
    assert verdict("D-NEW").decision.action == "allow"
    clock.now = expiry.timestamp()  # expired: the rule fires again, without a reload
    again = verdict("D-NEW")
    assert again.decision.action == "challenge"
    assert "NEW_DEVICE_LARGE_PAYMENT" in [r.code for r in again.decision.reasons]


def test_an_allow_entry_silences_only_the_rules_it_names():
    lists = ListIndex(
        [
            entry(
                "allow",
                "device",
                "D1",
                expires_at=T + timedelta(days=1),
                suppress=["new_device_large_payment"],
            )
        ]
    )
    # velocity_burst is not named: it still fires for the allowed device.
    verdict = decide(decider(lists), payment(device_id="D1"), pay_count_5m=8)
    assert verdict.decision.action == "challenge"
    assert dict(verdict.hits) == {"velocity_burst": "challenge"}


# --- watch --------------------------------------------------------------------------------


def test_watch_entries_ask_for_what_they_say_where_they_apply():
    lists = ListIndex(
        [
            entry("watch", "merchant", "SHOP", action="review", channels=["pos"], min_amount=500.0),
        ]
    )
    make = decider(lists)
    event = payment(txn_type="card", merchant_id="SHOP", amount=900.0, channel="pos")
    verdict = decide(make, event)
    assert verdict.decision.action == "review" and verdict.alert is not None
    assert "WATCH_MERCHANT" in [r.code for r in verdict.decision.reasons]
    assert ("watch_merchant", "review") in verdict.hits
    assert verdict.list_hits == (("watch", "merchant", "police"),)
    online = payment(txn_type="card", merchant_id="SHOP", amount=900.0, channel="online")
    assert decide(make, online).decision.action == "allow"  # not a watched channel
    small = payment(txn_type="card", merchant_id="SHOP", amount=499.0, channel="pos")
    assert decide(make, small).decision.action == "allow"  # under the watched amount


def test_a_watch_entry_asking_for_a_challenge_gets_a_challenge():
    lists = ListIndex([entry("watch", "device", "D1", action="challenge", source="branch")])
    verdict = decide(decider(lists), payment(device_id="D1"))
    assert ("watch_device", "challenge") in verdict.hits
    assert verdict.decision.action == "challenge"
    assert verdict.alert is None  # a challenge is the customer's to pass, not staff's


def test_an_allow_entry_with_suppress_watch_silences_a_watch_hit():
    lists = ListIndex(
        [
            entry("watch", "merchant", "SHOP", action="review"),
            entry(
                "allow", "merchant", "SHOP", expires_at=T + timedelta(days=1), suppress=["watch"]
            ),
        ]
    )
    verdict = decide(decider(lists), payment(txn_type="card", merchant_id="SHOP", channel="pos"))
    assert verdict.decision.action == "allow"
    assert verdict.hits == () and verdict.list_hits == ()


# --- limits ---------------------------------------------------------------------------------


def test_a_payment_over_the_password_limit_is_challenged_to_step_up():
    event = payment(amount=DEFAULT_LIMITS["password"].per_txn + 1000, auth_method="password")
    verdict = decide(decider(), event)
    assert verdict.decision.action == "challenge"
    reason = next(r for r in verdict.decision.reasons if r.code == "LIMIT_STEP_UP")
    assert "password" in reason.detail and "step up to card_pin" in reason.detail
    assert [n.type for n in verdict.notifications] == ["transfer_challenged"]


def test_a_limit_step_up_changes_the_action_and_never_the_score():
    event = payment(amount=DEFAULT_LIMITS["password"].per_txn + 1000, auth_method="password")
    limited = decide(decider(), event)
    unlimited = Decider(
        RulesetHolder(DEFAULT_RULESET_PATH),
        ListIndex(),
        Policy(),
        limits=LimitsTable(enabled=False),
        clock=Clock(T),
    )
    free = decide(unlimited, event)
    assert (limited.decision.action, free.decision.action) == ("challenge", "allow")
    assert limited.decision.score == free.decision.score
    # Also with a model: the step-up is not among the evidence the model is given.
    seen: list[list[str]] = []
    model = FixedModel(0.01, seen)
    decide(model_decider_with(model, limits=LimitsTable()), event)
    decide(model_decider_with(model, limits=LimitsTable(enabled=False)), event)
    assert seen[0] == seen[1] and not any("limit" in k for k in seen[0])


def test_the_daily_limit_is_read_from_the_features():
    daily = DEFAULT_LIMITS["password"].daily
    event = payment(amount=100.0, auth_method="password")
    assert decide(decider(), event, daily_total=daily).decision.action == "allow"
    over = decide(decider(), event, daily_total=daily + 0.01)
    assert over.decision.action == "challenge" and ("limit_daily", "challenge") in over.hits


def test_deposits_are_not_limited():
    event = payment(txn_type="deposit", amount=10 * DEFAULT_LIMITS["usb_key"].per_txn)
    verdict = decide(decider(), event)
    assert verdict.decision.action == "allow" and verdict.hits == ()


@pytest.mark.parametrize(
    ("zone", "after_midnight"),
    [("Asia/Shanghai", "allow"), ("UTC", "challenge")],
)
def test_the_daily_limit_starts_again_at_local_midnight(zone, after_midnight):
    # 15:59:59Z is 23:59:59 in Shanghai and 16:00:00Z its next day; in UTC both are one day.
    state = AccountState(FeatureConfig(timezone=zone))
    make = decider()
    half = DEFAULT_LIMITS["password"].daily / 2

    def pay(eid: str, at: datetime, amount: float):
        event = payment(event_id=eid, ts=at, amount=amount, auth_method="password")
        f = state.on_payment(event, at.timestamp(), at.hour)
        return make.decide(event, f, None, at.timestamp())

    assert pay("p1", datetime(2026, 11, 24, 15, 0, tzinfo=UTC), half).decision.action == "allow"
    at_limit = pay("p2", datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC), half)
    assert at_limit.features["daily_total"] == 2 * half
    assert at_limit.decision.action == "allow"
    after = pay("p3", datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC), half)
    assert after.decision.action == after_midnight
    if after_midnight == "allow":
        assert after.features["daily_total"] == half and after.hits == ()
    else:
        assert ("limit_daily", "challenge") in after.hits


# --- the lock -------------------------------------------------------------------------------


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
            auth_method=method,  # type: ignore[arg-type]
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


class FixedModel:
    """A warm model that gives every event the same probability (None: cold, the prior)."""

    def __init__(self, probability: float | None, seen: list[list[str]] | None = None) -> None:
        self.probability = probability
        self.priors = Priors()
        self.seen = seen if seen is not None else []

    def score(self, event, features, hits, evidence):
        from riskflow.scoring.models.featurelog import LoggedEvent
        from riskflow.scoring.models.scorer import ModelScore

        self.seen.append(list(evidence))
        before = prior(hits, features, self.priors)
        record = LoggedEvent("payment", 0.0, event.account_id, {}, 0.5, before.value)
        version = "champion-7" if self.probability is not None else None
        value = self.probability if self.probability is not None else before.value
        return ModelScore(version, value, before, self.probability, 0.5, None, None, record)

    def holdout(self, event_id: str) -> bool:
        return False


def model_decider_with(model: FixedModel, combine: str = "both", lists=None, **kw) -> Decider:
    return Decider(
        RulesetHolder(DEFAULT_RULESET_PATH),
        lists or ListIndex(),
        Policy(combine=combine),  # type: ignore[arg-type]
        models=model,  # type: ignore[arg-type]
        clock=Clock(T),
        **kw,
    )


def model_decider(probability: float | None, combine: str, lists=None) -> Decider:
    return model_decider_with(FixedModel(probability), combine, lists)


def test_the_score_is_the_models_probability_and_lists_rules_decide_the_action():
    lists = ListIndex([entry("deny", "payee", "MULE")])
    event = payment(payee_account="MULE")
    both = decide(model_decider(0.02, "both", lists), event)
    # Policy is not evidence: the deny hit blocks, the score stays the model's probability.
    assert both.decision.action == "block" and both.decision.score == 0.02
    assert both.decision.reasons[0].code == "DENY_PAYEE"
    alone = decide(model_decider(0.02, "model", lists), event)
    # The deny hit still shows in the reasons, but the model's 0.02 (below challenge) decides.
    assert alone.decision.action == "allow" and alone.decision.score == 0.02
    assert alone.decision.model_version == "champion-7"
    risky = decide(model_decider(0.95, "model"), payment())
    assert risky.decision.action == "block" and risky.decision.reasons[0].code == "MODEL_SCORE"
    # While the model is cold the risk is the prior and the policy's floors decide.
    cold = decide(model_decider(None, "model", lists), event)
    assert cold.decision.action == "block" and cold.decision.score >= 0.95
    assert cold.decision.model_version == "rules-only"


def test_the_model_is_given_every_rule_and_list_hit_as_evidence():
    lists = ListIndex([entry("deny", "payee", "MULE"), entry("watch", "device", "D9")])
    seen: list[list[str]] = []
    decide(
        model_decider_with(FixedModel(0.2, seen), lists=lists),
        payment(payee_account="MULE", device_id="D9"),
    )
    assert "rule:deny_payee" in seen[0] and "rule:watch_device" in seen[0]
