"""Limits tied to the strength of the authentication tool."""

from __future__ import annotations

import pytest

from riskflow.contract.messages import AuthMethod
from riskflow.scoring.limits import DEFAULT_LIMITS, STRENGTH, Limit, LimitsTable

TABLE = LimitsTable()
STRONGEST = STRENGTH[-1]
CENT = 0.01


def weakest_allowing(method: str, amount: float, daily: float) -> str | None:
    """Independent of the implementation: scan the default table upwards by hand."""
    for stronger in STRENGTH[STRENGTH.index(method) + 1 :]:
        lim = DEFAULT_LIMITS[stronger]
        if amount <= lim.per_txn and daily <= lim.daily:
            return stronger
    return None


def test_strength_names_every_auth_method_of_the_contract_once():
    assert sorted(STRENGTH) == sorted(AuthMethod.__args__)  # type: ignore[attr-defined]
    assert set(DEFAULT_LIMITS) == set(STRENGTH)


def test_default_limits_never_shrink_with_strength():
    per_txn = [DEFAULT_LIMITS[m].per_txn for m in STRENGTH]
    daily = [DEFAULT_LIMITS[m].daily for m in STRENGTH]
    assert per_txn == sorted(per_txn) and daily == sorted(daily)
    assert all(DEFAULT_LIMITS[m].per_txn <= DEFAULT_LIMITS[m].daily for m in STRENGTH)


# --- per transaction -------------------------------------------------------------------


@pytest.mark.parametrize("method", STRENGTH)
def test_a_payment_exactly_at_the_per_transaction_limit_passes(method):
    limit = DEFAULT_LIMITS[method]
    assert TABLE.check(method, "online", "transfer", limit.per_txn, limit.per_txn) is None


@pytest.mark.parametrize("method", STRENGTH)
def test_a_cent_over_the_per_transaction_limit_asks_for_the_weakest_tool_that_allows_it(method):
    limit = DEFAULT_LIMITS[method]
    over = limit.per_txn + CENT
    hit = TABLE.check(method, "online", "transfer", over, over)
    assert hit is not None and hit.rule_id == "limit_per_txn"
    assert method in hit.detail and "per-transaction" in hit.detail and "online" in hit.detail
    step_up = weakest_allowing(method, over, over)
    if step_up is None:  # only the strongest tool has nothing above it
        assert method == STRONGEST
        assert (hit.action, hit.reason) == ("review", "LIMIT_ABOVE_STRONGEST")
    else:
        assert (hit.action, hit.severity, hit.reason) == ("challenge", "medium", "LIMIT_STEP_UP")
        assert hit.detail.endswith(f"step up to {step_up}")


# Read off the default table: sms_otp and biometric share a 50,000 per-transaction
# limit, so a cent over sms_otp's must skip biometric and go straight to token.
PER_TXN_STEP_UP = {
    "none": "password",
    "password": "card_pin",
    "card_pin": "sms_otp",
    "sms_otp": "token",
    "biometric": "token",
    "token": "usb_key",
    "usb_key": None,
}
# ... whereas biometric's daily limit is twice sms_otp's, so there it is the next step.
DAILY_STEP_UP = PER_TXN_STEP_UP | {"sms_otp": "biometric"}


@pytest.mark.parametrize("method", STRENGTH)
def test_step_up_targets_spelled_out_for_the_default_table(method):
    limit = DEFAULT_LIMITS[method]
    over_txn = TABLE.check(method, "mobile", "transfer", limit.per_txn + CENT, limit.per_txn + CENT)
    over_day = TABLE.check(method, "mobile", "transfer", 1.0, limit.daily + CENT)
    for hit, expected in ((over_txn, PER_TXN_STEP_UP[method]), (over_day, DAILY_STEP_UP[method])):
        assert hit is not None
        if expected is None:
            assert hit.reason == "LIMIT_ABOVE_STRONGEST"
        else:
            assert hit.detail.endswith(f"step up to {expected}")


@pytest.mark.parametrize("method", STRENGTH)
def test_above_even_the_strongest_per_transaction_limit_goes_to_review(method):
    beyond = DEFAULT_LIMITS[STRONGEST].per_txn + CENT
    for amount in (beyond, beyond * 10):
        hit = TABLE.check(method, "online", "transfer", amount, amount)
        assert hit is not None and hit.rule_id == "limit_per_txn"
        assert (hit.action, hit.severity, hit.reason) == ("review", "high", "LIMIT_ABOVE_STRONGEST")
        assert STRONGEST in hit.detail and "step up" not in hit.detail


# --- per day ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", STRENGTH)
def test_a_day_exactly_at_the_daily_limit_passes(method):
    limit = DEFAULT_LIMITS[method]
    assert TABLE.check(method, "mobile", "bill", 1.0, limit.daily) is None


@pytest.mark.parametrize("method", STRENGTH)
def test_a_cent_over_the_daily_limit_asks_for_the_weakest_tool_that_allows_it(method):
    limit = DEFAULT_LIMITS[method]
    small = 1.0  # well within every tool's per-transaction limit: only the day is over
    hit = TABLE.check(method, "mobile", "bill", small, limit.daily + CENT)
    assert hit is not None and hit.rule_id == "limit_daily"
    assert method in hit.detail and "daily" in hit.detail
    step_up = weakest_allowing(method, small, limit.daily + CENT)
    if step_up is None:
        assert method == STRONGEST and hit.reason == "LIMIT_ABOVE_STRONGEST"
    else:
        assert (hit.action, hit.reason) == ("challenge", "LIMIT_STEP_UP")
        assert hit.detail.endswith(f"step up to {step_up}")


@pytest.mark.parametrize("method", STRENGTH)
def test_above_even_the_strongest_daily_limit_goes_to_review(method):
    hit = TABLE.check(method, "mobile", "bill", 1.0, DEFAULT_LIMITS[STRONGEST].daily + CENT)
    assert hit is not None and hit.rule_id == "limit_daily"
    assert (hit.action, hit.reason) == ("review", "LIMIT_ABOVE_STRONGEST")


def test_an_amount_over_both_limits_is_reported_as_the_per_transaction_one():
    hit = TABLE.check("none", "online", "transfer", 600.0, 2_000.0)
    assert hit is not None and hit.rule_id == "limit_per_txn"
    # The step-up must fit the day as well: password allows 5,000 a time and 10,000 a day.
    assert hit.detail.endswith("step up to password")
    hit = TABLE.check("none", "online", "transfer", 600.0, 20_000.0)
    assert hit is not None and hit.detail.endswith("step up to card_pin")


# --- exemptions, channels and configuration ------------------------------------------------


@pytest.mark.parametrize("method", STRENGTH)
def test_deposits_are_never_limited(method):
    assert TABLE.check(method, "branch", "deposit", 1e9, 1e9) is None
    assert TABLE.check(method, "branch", "withdrawal", 1e9, 1e9) is not None


def test_a_disabled_table_limits_nothing():
    assert LimitsTable(enabled=False).check("none", "online", "transfer", 1e9, 1e9) is None


def test_the_atm_override_caps_card_and_pin_below_its_usual_limit():
    atm = LimitsTable().limit("card_pin", "atm")
    assert atm.per_txn < DEFAULT_LIMITS["card_pin"].per_txn
    assert atm.daily < DEFAULT_LIMITS["card_pin"].daily
    assert TABLE.check("card_pin", "atm", "withdrawal", atm.per_txn, atm.per_txn) is None
    over = atm.per_txn + CENT
    hit = TABLE.check("card_pin", "atm", "withdrawal", over, over)
    assert hit is not None and hit.rule_id == "limit_per_txn" and "atm" in hit.detail
    assert hit.detail.endswith("step up to sms_otp")  # the override is card_pin's only
    # The same amount elsewhere is within card_pin's usual limit.
    assert TABLE.check("card_pin", "pos", "card", over, over) is None
    # ... and the daily override applies too.
    assert TABLE.check("card_pin", "atm", "withdrawal", 1.0, atm.daily) is None
    daily = TABLE.check("card_pin", "atm", "withdrawal", 1.0, atm.daily + CENT)
    assert daily is not None and daily.rule_id == "limit_daily"


def test_the_atm_override_leaves_other_methods_alone():
    assert LimitsTable().limit("password", "atm") == DEFAULT_LIMITS["password"]


def test_the_step_up_respects_the_stronger_tools_channel_overrides():
    table = LimitsTable(
        channels={"atm": {"card_pin": Limit(5_000, 20_000), "sms_otp": Limit(1_000, 1_000)}}
    )
    hit = table.check("password", "atm", "withdrawal", 6_000, 6_000)
    # card_pin (5,000 at an ATM) and sms_otp (1,000 at an ATM) are not enough.
    assert hit is not None and hit.detail.endswith("step up to biometric")
    hit = table.check("password", "online", "transfer", 6_000, 6_000)
    assert hit is not None and hit.detail.endswith("step up to card_pin")


def test_a_configured_table_is_used_and_missing_methods_fall_back_to_the_defaults():
    table = LimitsTable(methods={"password": Limit(100, 150)})
    assert table.check("password", "online", "transfer", 100, 100) is None
    hit = table.check("password", "online", "transfer", 120, 120)
    assert hit is not None and hit.detail.endswith("step up to card_pin")
    assert table.limit("token", "online") == DEFAULT_LIMITS["token"]


@pytest.mark.parametrize(
    "table",
    [
        {"methods": {"retina": Limit(1, 2)}},
        {"channels": {"atm": {"retina": Limit(1, 2)}}},
        {"methods": dict(DEFAULT_LIMITS), "channels": {"pos": {"retina": Limit(1, 2)}}},
    ],
)
def test_limits_for_unknown_methods_are_refused(table):
    with pytest.raises(ValueError, match="retina"):
        LimitsTable(**table)
