"""Limits tied to the strength of the authentication tool."""

from __future__ import annotations

import pytest

from scoring.limits import DEFAULT_LIMITS, STRENGTH, Limit, LimitsTable

TABLE = LimitsTable()
STRONGEST = STRENGTH[-1]


def test_default_limits_grow_with_strength():
    per_txn = [DEFAULT_LIMITS[m].per_txn for m in STRENGTH]
    daily = [DEFAULT_LIMITS[m].daily for m in STRENGTH]
    assert per_txn == sorted(per_txn) and daily == sorted(daily)
    assert all(DEFAULT_LIMITS[m].per_txn <= DEFAULT_LIMITS[m].daily for m in STRENGTH)


def weakest_allowing(method: str, amount: float, daily: float) -> str | None:
    """Independent of the implementation: scan the table upwards by hand."""
    for stronger in STRENGTH[STRENGTH.index(method) + 1 :]:
        lim = DEFAULT_LIMITS[stronger]
        if amount <= lim.per_txn and daily <= lim.daily:
            return stronger
    return None


@pytest.mark.parametrize("method", STRENGTH)
def test_per_transaction_limit_at_just_over_and_far_over(method):
    limit = DEFAULT_LIMITS[method]
    assert TABLE.check(method, "online", "transfer", limit.per_txn, limit.per_txn) is None

    over = limit.per_txn + 0.01
    hit = TABLE.check(method, "online", "transfer", over, over)
    assert hit is not None and hit.rule_id == "limit_per_txn"
    step_up = weakest_allowing(method, over, over)
    if step_up is None:  # the strongest tool has nothing above it
        assert method == STRONGEST and hit.action == "review"
    else:
        assert (hit.action, hit.reason) == ("challenge", "LIMIT_STEP_UP")
        assert hit.detail.endswith(f"step up to {step_up}")
        assert method in hit.detail

    far = DEFAULT_LIMITS[STRONGEST].per_txn * 10
    hit = TABLE.check(method, "online", "transfer", far, far)
    assert hit is not None and (hit.action, hit.reason) == ("review", "LIMIT_ABOVE_STRONGEST")


@pytest.mark.parametrize("method", STRENGTH)
def test_daily_limit_at_and_just_over(method):
    limit = DEFAULT_LIMITS[method]
    small = min(1.0, limit.per_txn)
    assert TABLE.check(method, "mobile", "bill", small, limit.daily) is None
    hit = TABLE.check(method, "mobile", "bill", small, limit.daily + 0.01)
    assert hit is not None and hit.rule_id == "limit_daily"
    expected = weakest_allowing(method, small, limit.daily + 0.01)
    assert hit.action == ("review" if expected is None else "challenge")
    if expected is not None:
        assert f"step up to {expected}" in hit.detail


def test_deposits_are_not_limited_and_the_table_can_be_switched_off():
    assert TABLE.check("none", "branch", "deposit", 1e9, 1e9) is None
    assert LimitsTable(enabled=False).check("none", "online", "transfer", 1e9, 1e9) is None


def test_channel_overrides_take_precedence():
    # Cash at an ATM with a card and PIN is capped lower than the same tool elsewhere.
    assert TABLE.check("card_pin", "pos", "card", 6_000, 6_000) is None
    hit = TABLE.check("card_pin", "atm", "withdrawal", 6_000, 6_000)
    assert hit is not None and hit.rule_id == "limit_per_txn" and "atm" in hit.detail


def test_a_configured_table_is_used_and_unknown_methods_are_refused():
    table = LimitsTable(methods=dict(DEFAULT_LIMITS) | {"password": Limit(100, 150)})
    hit = table.check("password", "online", "transfer", 120, 120)
    assert hit is not None and hit.detail.endswith("step up to card_pin")
    with pytest.raises(ValueError, match="retina"):
        LimitsTable(methods={"retina": Limit(1, 2)})
