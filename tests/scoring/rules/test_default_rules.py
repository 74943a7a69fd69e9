"""Every default rule fires on its pattern and stays quiet on the near miss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskflow.contract.messages import Payment
from riskflow.features.catalog import FEATURES, defaults
from riskflow.features.payee import PayeeState
from riskflow.scoring.rules.expr import names_in
from riskflow.scoring.rules.ruleset import DEFAULT_RULESET_PATH, load_ruleset

RULES = load_ruleset(DEFAULT_RULESET_PATH)

PAY = {"event_type": "payment", "txn_type": "transfer", "channel": "online"}
LOGIN = {"event_type": "login", "txn_type": "", "login_success": True}
TAKEOVER = PAY | {
    "failures_before_login": 3,
    "last_login_new_device": True,
    "minutes_since_login": 30.0,
    "is_new_payee": True,
}
NIGHT = PAY | {
    "is_night": True,
    "hour": 3,
    "payment_history_count": 20,
    "amount": 50_000.0,
    "amount_zscore": 4.0,
    "amount_ratio_to_max": 2.0,
}
TRAVEL = {"travel_km": 1100.0, "travel_kmh": 1100.0}
FAN_IN = PAY | {
    "is_new_payee": True,
    "payee_new_sender": True,
    "payee_senders_24h": 1,
    "payee_senders_7d": 1,
    "payee_forwarded_share_24h": 0.85,
}
CNP = PAY | {
    "txn_type": "card",
    "auth_method": "password",
    "pay_count_30d": 5,
    "amount_to_mean_30d": 2.0,
}

# rule id -> (event type, features where it fires, changes that make it a near miss)
CASES = {
    "denylist_payee": ("payment", PAY | {"payee_listed": True}, {"payee_listed": False}),
    "denylist_account": ("login", LOGIN | {"account_listed": True}, {"account_listed": False}),
    "denylist_device": ("payment", PAY | {"device_listed": True}, {"device_listed": False}),
    "denylist_ip": ("login", LOGIN | {"ip_listed": True}, {"ip_listed": False}),
    "denylist_merchant": ("payment", PAY | {"merchant_listed": True}, {"merchant_listed": False}),
    "denylist_terminal": ("payment", PAY | {"terminal_listed": True}, {"terminal_listed": False}),
    "account_locked": (
        "login",
        LOGIN | {"account_locked": True, "consecutive_failures": 5},
        {"account_locked": False},
    ),
    "takeover_chain": ("payment", TAKEOVER, {"minutes_since_login": 31.0}),
    "login_new_device_after_failures": (
        "login",
        LOGIN | {"is_new_device": True, "failed_logins_1h": 3},
        {"failed_logins_1h": 2},
    ),
    "login_failure_burst": (
        "login",
        LOGIN | {"login_success": False, "failed_logins_15m": 4},
        {"failed_logins_15m": 3},
    ),
    "ip_failures_across_accounts": (
        "login",
        LOGIN | {"login_success": False, "ip_failed_logins_5m": 3, "ip_accounts_1h": 3},
        {"ip_accounts_1h": 2},
    ),
    "payment_after_ip_failures_elsewhere": (
        "payment",
        PAY | {"ip_failures_elsewhere_1h": 3},
        {"ip_failures_elsewhere_1h": 2},
    ),
    "device_failures_across_accounts": (
        "login",
        LOGIN | {"device_accounts_1h": 5, "device_failures_elsewhere_1h": 3},
        {"device_accounts_1h": 4},
    ),
    "fan_in_payee": ("payment", FAN_IN, {"payee_forwarded_share_24h": 0.29}),
    "card_testing": (
        "payment",
        PAY | {"txn_type": "card", "small_card_count_5m": 5},
        {"small_card_count_5m": 4},
    ),
    "card_testing_across_cards": (
        "payment",
        PAY | {"txn_type": "card", "amount": 2.0, "terminal_small_cards_10m": 4},
        {"terminal_small_cards_10m": 3},
    ),
    "large_night_transfer": ("payment", NIGHT, {"amount_ratio_to_max": 1.9}),
    "new_device_large_payment": (
        "payment",
        PAY | {"is_new_device": True, "amount": 5000.0, "amount_ratio_to_max": 1.5},
        {"amount": 4999.0},
    ),
    "velocity_burst": ("payment", PAY | {"pay_count_5m": 8}, {"pay_count_5m": 7}),
    "new_payee_burst": (
        "payment",
        PAY | {"is_new_payee": True, "distinct_payees_24h": 8},
        {"is_new_payee": False},
    ),
    "impossible_travel_payment": ("payment", PAY | TRAVEL, {"travel_kmh": 899.0}),
    "impossible_travel_login": ("login", LOGIN | TRAVEL, {"travel_km": 499.0}),
    "confirmed_fraud_account": (
        "payment",
        PAY | {"account_fraud_labels_30d": 1, "is_new_payee": True},
        {"is_new_payee": False},
    ),
    "cash_far_from_home": (
        "payment",
        PAY | {"channel": "atm", "txn_type": "withdrawal", "travel_km": 300.0, "travel_kmh": 40.0},
        {"travel_km": 299.0},
    ),
    "card_not_present_step_up": ("payment", CNP, {"auth_method": "sms_otp"}),
}


def test_every_default_rule_has_a_case():
    assert {r.id for r in RULES.rules} == set(CASES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_its_pattern(rule_id):
    event_type, features, _ = CASES[rule_id]
    fired = {h.rule_id for h in RULES.evaluate(defaults() | features, event_type)}
    assert rule_id in fired


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_is_quiet_on_the_near_miss(rule_id):
    event_type, features, miss = CASES[rule_id]
    fired = {h.rule_id for h in RULES.evaluate(defaults() | features | miss, event_type)}
    assert rule_id not in fired


def test_a_success_after_failures_on_other_accounts_is_stepped_up_its_own_are_not():
    success = LOGIN | {"ip_failures_elsewhere_1h": 3, "ip_failed_logins_1h": 3}
    fired = {h.rule_id for h in RULES.evaluate(defaults() | success, "login")}
    assert "ip_failures_across_accounts" in fired
    own = success | {"ip_failures_elsewhere_1h": 0, "ip_accounts_1h": 1}
    fired = {h.rule_id for h in RULES.evaluate(defaults() | own, "login")}
    assert "ip_failures_across_accounts" not in fired


def test_takeover_needs_a_new_device_and_a_transfer():
    for miss in ({"last_login_new_device": False}, {"txn_type": "bill"}, {"is_new_payee": False}):
        fired = {h.rule_id for h in RULES.evaluate(defaults() | TAKEOVER | miss, "payment")}
        assert "takeover_chain" not in fired


@pytest.mark.parametrize("event_type", ["payment", "login"])
def test_quiet_event_fires_nothing(event_type):
    assert RULES.evaluate(defaults() | {"event_type": event_type}, event_type) == []


def test_default_rules_read_only_catalogued_features():
    for rule in RULES.rules:
        assert names_in(rule.condition_text) <= set(FEATURES)
    assert RULES.errors == {}


def test_cash_far_away_at_an_impossible_speed_is_left_to_the_travel_rule():
    far = PAY | {"channel": "atm", "txn_type": "withdrawal"} | TRAVEL
    fired = {h.rule_id for h in RULES.evaluate(defaults() | far, "payment")}
    assert "impossible_travel_payment" in fired and "cash_far_from_home" not in fired


@pytest.mark.parametrize(
    "change", [{"channel": "mobile"}, {"pay_count_30d": 4}, {"amount_to_mean_30d": 1.99}]
)
def test_card_not_present_step_up_needs_online_history_and_a_jump(change):
    fired = {h.rule_id for h in RULES.evaluate(defaults() | CNP | change, "payment")}
    assert "card_not_present_step_up" not in fired


def test_a_shared_device_without_failures_elsewhere_is_not_stepped_up():
    # A family tablet used by five accounts, or one account failing on it, is no list run.
    for miss in ({"device_failures_elsewhere_1h": 2}, {"device_accounts_1h": 1}):
        busy = LOGIN | {"device_accounts_1h": 5, "device_failures_elsewhere_1h": 3} | miss
        fired = {h.rule_id for h in RULES.evaluate(defaults() | busy, "login")}
        assert "device_failures_across_accounts" not in fired
    stuffed = LOGIN | {"device_accounts_1h": 5, "device_failures_elsewhere_1h": 3}
    hits = RULES.evaluate(defaults() | stuffed, "payment")
    assert "device_failures_across_accounts" not in {h.rule_id for h in hits}  # logins only


def test_card_testing_across_cards_ignores_an_ordinary_amount_at_a_busy_shop():
    busy = defaults() | PAY | {"txn_type": "card", "terminal_small_cards_10m": 9}

    def fired(amount: float) -> set[str]:
        return {h.rule_id for h in RULES.evaluate(busy | {"amount": amount}, "payment")}

    assert "card_testing_across_cards" in fired(2.0)
    assert "card_testing_across_cards" not in fired(45.0)  # a shopper at a busy shop


def test_fan_in_payee_fires_on_a_payee_several_accounts_started_paying():
    # Two other senders in the week are a fan-in even before the payee paid anything on
    # (an outside account, or a mule that has not yet forwarded).
    week = FAN_IN | {"payee_senders_24h": 0, "payee_senders_7d": 2}
    week["payee_forwarded_share_24h"] = 0.0
    assert "fan_in_payee" in {h.rule_id for h in RULES.evaluate(defaults() | week, "payment")}


def test_fan_in_payee_is_quiet_on_a_payee_the_account_already_pays_or_one_other_sender():
    for miss in (
        {"is_new_payee": False},  # the customer's own landlord, also paid by others
        {"payee_new_sender": False},
        {"txn_type": "bill"},
        # One other sender and nothing paid on: a shared payee, no pattern yet.
        {"payee_forwarded_share_24h": 0.0},
        # What was paid on was received more than a day ago, by one other sender.
        {"payee_senders_24h": 0},
    ):
        fired = {h.rule_id for h in RULES.evaluate(defaults() | FAN_IN | miss, "payment")}
        assert "fan_in_payee" not in fired, miss
    login = {h.rule_id for h in RULES.evaluate(defaults() | FAN_IN, "login")}
    assert "fan_in_payee" not in login  # payments only


def _transfer(account: str, minutes: float, payee: str, amount: float) -> Payment:
    return Payment(
        event_id=f"P-{account}-{minutes}",
        ts=datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes),
        account_id=account,
        amount=amount,
        channel="mobile",
        txn_type="transfer",
        payee_account=payee,
    )


def test_fan_in_payee_fires_on_the_payee_stages_view_of_a_second_victim_not_the_first():
    mule = PayeeState()

    def fired(victim: Payment) -> bool:
        features = defaults() | PAY | {"is_new_payee": True} | mule.observe(victim)
        return "fan_in_payee" in {h.rule_id for h in RULES.evaluate(features, "payment")}

    # The first victim's transfer to a fresh mule is a new payee like any other.
    assert not fired(_transfer("V1", 0, "MULE", 2000.0))
    mule.notice(_transfer("MULE", 40, "OUTSIDE", 1700.0))  # paid on within the hour
    assert fired(_transfer("V2", 300, "MULE", 1500.0))
