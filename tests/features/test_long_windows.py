"""Long payment windows, tenure, the session's login and the quiet-takeover login.

The long windows are bucketed; what "within the bucket error" means is checked
exactly against a brute-force reference over every event seen (see the
`BucketedWindow` docstring): for a payment at `t`, bucket `k = floor(t / B)` and
`lo = floor((t - W) / B)`, the counted payments include every one in `(t - W, t]`
(when bucket `lo` is still kept) and only ones in `[lo * B, t]` (when the exact
window still held `[k * B, t]`, else in `[lo * B, (k + 1) * B)`).
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskflow.benchmarks.state_size import steady_account
from riskflow.contract.messages import Login, Payment
from riskflow.features.account import (
    DAY,
    MONTH,
    MONTH_BUCKET,
    WEEK,
    WEEK_BUCKET,
    AccountState,
    FeatureConfig,
)
from riskflow.features.catalog import FEATURES, NO_LOGIN_MINUTES, defaults
from riskflow.scoring.rules.expr import RuleSyntaxError, compile_condition

UTC0 = datetime(2026, 3, 1, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
NIGHT = datetime(2026, 3, 2, 2, 30, tzinfo=CST)  # 02:30 local

SHORT = {"5m": 300.0, "1h": 3600.0, "24h": DAY}
LONG = {"7d": (WEEK, WEEK_BUCKET), "30d": (MONTH, MONTH_BUCKET)}


def payment(ts: datetime, amount: float = 100.0, event_id: str = "p", **kw) -> Payment:
    fields = {"channel": "mobile", "txn_type": "transfer"} | kw
    return Payment(event_id=event_id, ts=ts, account_id="A1", amount=amount, **fields)


def login(ts: datetime, event_id: str = "l", success: bool = True, **kw) -> Login:
    return Login(event_id=event_id, ts=ts, account_id="A1", channel="mobile", success=success, **kw)


def feed(state: AccountState, event: Payment | Login):
    t, hour = event.ts.timestamp(), event.ts.hour
    if isinstance(event, Payment):
        return state.on_payment(event, t, hour)
    return state.on_login(event, t, hour)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


# ---- windows against brute force -----------------------------------------------------

gaps = st.one_of(
    st.integers(0, 600),
    st.integers(0, 6 * 3600),
    st.integers(0, 3 * 86400),
    st.integers(25 * 86400, 45 * 86400),  # longer than the 30-day window
    st.sampled_from([300, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400]),  # on the edges
)
lateness = st.one_of(
    st.just(0), st.integers(0, 3600), st.integers(0, 2 * 86400), st.integers(0, 40 * 86400)
)
amounts = st.integers(1, 1_000_000).map(lambda cents: cents / 100)


@settings(max_examples=250, deadline=None)
@given(steps=st.lists(st.tuples(gaps, lateness, amounts), min_size=1, max_size=60))
def test_every_window_feature_matches_a_brute_force_reference(steps):
    state = AccountState()
    seen: list[tuple[float, float]] = []
    clock = 0
    for i, (gap, late, amount) in enumerate(steps):
        clock += gap
        ts = UTC0 + timedelta(seconds=clock - late)
        t = ts.timestamp()
        previous_newest = max((x for x, _ in seen), default=None)
        f = feed(state, payment(ts, amount, event_id=f"p{i}"))
        seen.append((t, amount))
        newest = max(x for x, _ in seen)

        for name, width in SHORT.items():
            count, total = f[f"pay_count_{name}"], f[f"pay_sum_{name}"]
            inside = [a for x, a in seen if t - width < x <= t]
            if t > newest - DAY + width:  # the exact window holds all of it
                assert count == len(inside)
                assert close(total, sum(inside))
            else:
                assert count <= len(inside)
            if name != "5m":
                assert close(f[f"pay_mean_{name}"], total / count if count else 0.0)

        for name, (width, bucket) in LONG.items():
            count, total = f[f"pay_count_{name}"], f[f"pay_sum_{name}"]
            keep = math.ceil(width / bucket) + 1
            k, lo = math.floor(t / bucket), math.floor((t - width) / bucket)
            exact_edge = previous_newest is None or k * bucket > previous_newest - DAY
            if exact_edge:
                outer = [a for x, a in seen if lo * bucket <= x <= t]
            else:
                outer = [a for x, a in seen if lo * bucket <= x < (k + 1) * bucket]
            assert count <= len(outer)
            assert total <= sum(outer) + 1e-6 * max(1.0, sum(outer))
            assert (t - width - bucket) < lo * bucket  # the outer set is within one bucket
            retained = lo >= math.floor(newest / bucket) - keep + 1
            if retained:
                inner = [a for x, a in seen if t - width < x <= t]
                assert count >= len(inner)
                assert total >= sum(inner) - 1e-6 * max(1.0, sum(inner))
                assert count >= f["pay_count_24h"]
            assert close(f[f"pay_mean_{name}"], total / count if count else 0.0)
            # amount / the mean of the same window before this payment
            counted = k >= math.floor(newest / bucket) - keep + 1
            before_count = count - 1 if counted else count
            before_sum = total - amount if counted else total
            ratio = f[f"amount_to_mean_{name}"]
            if before_count == 0:
                assert ratio == 0.0
            else:
                assert math.isclose(ratio, amount * before_count / before_sum, rel_tol=1e-6)

        assert len(state.week.counts) <= math.ceil(WEEK / WEEK_BUCKET) + 1
        assert len(state.month.counts) <= math.ceil(MONTH / MONTH_BUCKET) + 1


def test_the_long_windows_of_a_login_hold_the_payments_before_it_and_no_ratio():
    state = AccountState()
    for day in range(10):
        feed(state, payment(UTC0 + timedelta(days=day, hours=1), 10.0 * (day + 1)))
    f = feed(state, login(UTC0 + timedelta(days=9, hours=2)))
    # Days 3..9 are inside 7 d; day 2 at 01:00 is an hour older than 7 d, but in the same
    # 6-hour bucket (00:00-06:00 UTC) as the window's edge, so it counts too.
    assert (f["pay_count_7d"], f["pay_sum_7d"]) == (8, sum(10.0 * d for d in range(3, 11)))
    # At 07:00 the edge is in the 06:00-12:00 bucket: day 2 no longer counts.
    assert feed(state, login(UTC0 + timedelta(days=9, hours=7)))["pay_count_7d"] == 7
    assert (f["pay_count_30d"], f["pay_mean_30d"]) == (10, 55.0)
    assert f["amount_to_mean_7d"] == f["amount_to_mean_30d"] == 0.0


def test_amount_to_mean_compares_with_the_history_before_the_payment():
    state = AccountState()
    first = feed(state, payment(UTC0, 100.0))
    assert first["amount_to_mean_7d"] == first["amount_to_mean_30d"] == 0.0
    feed(state, payment(UTC0 + timedelta(days=1), 300.0))
    f = feed(state, payment(UTC0 + timedelta(days=2), 2000.0))
    assert f["amount_to_mean_7d"] == pytest.approx(10.0)  # 2000 / mean(100, 300)
    assert f["pay_mean_7d"] == pytest.approx(800.0)  # this payment included


def test_a_payment_later_than_the_kept_month_counts_in_no_long_window():
    state = AccountState()
    feed(state, payment(UTC0 + timedelta(days=70), 50.0))
    stale = feed(state, payment(UTC0, 10.0))  # 70 days late
    assert (stale["pay_count_7d"], stale["pay_count_30d"], stale["pay_count_24h"]) == (0, 0, 0)
    assert stale["pay_mean_30d"] == 0.0
    now = feed(state, payment(UTC0 + timedelta(days=70, minutes=1), 20.0))
    assert (now["pay_count_30d"], now["pay_sum_30d"]) == (2, 70.0)


# ---- tenure and state size -------------------------------------------------------------


def test_days_since_first_payment_counts_from_the_earliest_payment_and_is_capped():
    state = AccountState(FeatureConfig(tenure_cap_days=100.0))
    assert feed(state, login(UTC0))["days_since_first_payment"] == 0.0
    assert feed(state, payment(UTC0 + timedelta(days=5)))["days_since_first_payment"] == 0.0
    later = feed(state, payment(UTC0 + timedelta(days=15, hours=12)))
    assert later["days_since_first_payment"] == pytest.approx(10.5)
    feed(state, payment(UTC0 + timedelta(days=1)))  # a late one moves the start back
    f = feed(state, login(UTC0 + timedelta(days=11)))
    assert f["days_since_first_payment"] == pytest.approx(10.0)
    assert feed(state, login(UTC0 + timedelta(days=400)))["days_since_first_payment"] == 100.0


@pytest.mark.parametrize("per_day", [1, 20])
def test_a_typical_account_stays_within_two_kilobytes_after_sixty_days(per_day):
    state = steady_account(per_day, days=60)
    assert len(state.to_bytes()) <= 2048
    # bounded by the windows, not the age: the same after twice as long
    assert len(steady_account(per_day, days=120).to_bytes()) <= 2048


def test_long_windows_survive_a_snapshot_round_trip():
    original = steady_account(3, days=40)
    restored = AccountState.from_bytes(original.to_bytes())
    nxt = payment(datetime(2026, 2, 10, 9, 0, tzinfo=CST), 77.0, payee_account="P9")
    assert feed(restored, nxt) == feed(original, nxt)


# ---- the session's login -------------------------------------------------------------


def test_a_payment_names_the_accepted_login_of_its_session():
    state = AccountState()
    t0 = UTC0 + timedelta(hours=9)
    at = feed(state, login(t0, "L1", device_id="d1"))
    assert at["session_login_id"] == ""  # logins never name one
    assert feed(state, payment(t0 + timedelta(minutes=10)))["session_login_id"] == "L1"
    assert feed(state, payment(t0 + timedelta(minutes=30)))["session_login_id"] == "L1"
    feed(state, login(t0 + timedelta(minutes=20), "F1", success=False))
    assert feed(state, payment(t0 + timedelta(minutes=25)))["session_login_id"] == "L1"
    assert feed(state, payment(t0 + timedelta(minutes=31)))["session_login_id"] == ""
    feed(state, login(t0 + timedelta(minutes=40), "L2"))
    feed(state, login(t0 + timedelta(minutes=35), "L-late"))  # late: L2 is still the newest
    assert feed(state, payment(t0 + timedelta(minutes=41)))["session_login_id"] == "L2"
    # A payment from before the newest login is not in its session.
    assert feed(state, payment(t0 + timedelta(minutes=39)))["session_login_id"] == ""


def test_a_refused_login_opens_no_session_and_the_session_length_is_configurable():
    state = AccountState(FeatureConfig(lock_after_failures=2, session_minutes=5.0))
    t0 = UTC0 + timedelta(hours=9)
    feed(state, login(t0, "L1"))
    feed(state, login(t0 + timedelta(minutes=1), "F1", success=False))
    feed(state, login(t0 + timedelta(minutes=2), "F2", success=False))
    feed(state, login(t0 + timedelta(minutes=3), "W", auth_method="password"))  # locked out
    assert feed(state, payment(t0 + timedelta(minutes=4)))["session_login_id"] == "L1"
    assert feed(state, payment(t0 + timedelta(minutes=6)))["session_login_id"] == ""


def test_the_session_login_id_is_text_to_rules_and_absent_from_model_vectors():
    from riskflow.scoring.models.vectors import vector

    assert FEATURES["session_login_id"][0] is str
    condition = compile_condition("session_login_id != '' and amount > 10", rule_id="t")
    assert condition(defaults() | {"session_login_id": "L1", "amount": 50.0}) is True
    assert condition(defaults() | {"amount": 50.0}) is False
    with pytest.raises(RuleSyntaxError):
        compile_condition("session_login_id * 2 == 'x'", rule_id="t")
    state = AccountState()
    feed(state, login(UTC0, "L1"))
    p = payment(UTC0 + timedelta(minutes=1))
    x = vector(p, feed(state, p))
    assert not any("session" in name for name in x)
    assert {"pay_count_30d", "amount_to_mean_7d", "new_device_otp_night"} <= set(x)


# ---- the quiet takeover: a new device by SMS OTP at night --------------------------------


def test_new_device_otp_night_fires_on_the_login_and_its_session_payments():
    state = AccountState()
    feed(state, login(NIGHT - timedelta(days=3), "home", device_id="phone", auth_method="sms_otp"))
    f = feed(state, login(NIGHT, "L", device_id="evil", auth_method="sms_otp"))
    assert f["new_device_otp_night"] is True
    assert f["minutes_since_new_device_login"] == pytest.approx(3 * 24 * 60)  # "phone" was new
    pay = feed(state, payment(NIGHT + timedelta(minutes=7), 5000.0, device_id="evil"))
    assert pay["new_device_otp_night"] is True
    assert pay["minutes_since_new_device_login"] == pytest.approx(7.0)
    assert pay["session_login_id"] == "L"
    out = feed(state, payment(NIGHT + timedelta(minutes=45), 5000.0))
    assert out["new_device_otp_night"] is False  # session over
    assert out["minutes_since_new_device_login"] == pytest.approx(45.0)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"device_id": "phone"}, "a known device"),
        ({"auth_method": "password"}, "not SMS OTP"),
        ({"ts": NIGHT.replace(hour=6, minute=0)}, "06:00 is morning"),
        ({"success": False}, "a failed login"),
        ({"failed_before": True}, "a failed login in the hour before"),
    ],
)
def test_new_device_otp_night_does_not_fire(change, why):
    state = AccountState()
    feed(state, login(NIGHT - timedelta(days=3), "home", device_id="phone"))
    ts = change.pop("ts", NIGHT)
    if change.pop("failed_before", False):
        feed(state, login(ts - timedelta(minutes=50), "F", success=False, device_id="evil"))
    fields = {"device_id": "evil", "auth_method": "sms_otp", "success": True} | change
    f = feed(state, login(ts, "L", **fields))
    assert f["new_device_otp_night"] is False, why
    assert feed(state, payment(ts + timedelta(minutes=2)))["new_device_otp_night"] is False, why


def test_minutes_since_new_device_login_without_one_is_the_no_login_value():
    state = AccountState()
    assert feed(state, payment(UTC0))["minutes_since_new_device_login"] == NO_LOGIN_MINUTES
    assert defaults()["minutes_since_new_device_login"] == NO_LOGIN_MINUTES
    feed(state, login(UTC0 + timedelta(minutes=1), success=False, device_id="x"))
    f = feed(state, payment(UTC0 + timedelta(minutes=2)))
    assert f["minutes_since_new_device_login"] == NO_LOGIN_MINUTES  # failures do not count


# ---- snapshots written by the previous version -------------------------------------------

# AccountState.to_bytes() of snapshot version 2 (the code before the long windows), after:
# a failed login from d1 at 10:00 (+08:00, 1 March 2026), an accepted password login from d1
# at 10:01 (31.2 N, 121.5 E), payments of 10, 20 and 30 at 10:10, 10:40 and 11:10 to B1.
V2_T0 = datetime(2026, 3, 1, 10, 0, tzinfo=CST)
V2_SNAPSHOT = base64.b64decode(
    "gAWVLgEAAAAAAAAoSwJdlChHQdpo5/4AAABHQdpo6cAAAABHQdpo64IAAABlXZQoR0AkAAAAAAAA"
    "R0A0AAAAAAAAR0A+AAAAAAAAZYaUXZRdlIaUfZSMAkIxlEdB2mjrggAAAHN9lIwCZDGUR0HaaOuC"
    "AAAAc32UjAcxLjIuMy40lEdB2mjndwAAAHMoSwNHQDQAAAAAAABHQGkAAAAAAABHQD4AAAAAAAB0"
    "lF2UKEsASwBLAEsASwBLAEsASwBLAEsASwJLAUsASwBLAEsASwBLAEsASwBLAEsASwBLAGVdlEdB"
    "2mjnaAAAAGFHQdpo53cAAACISwFHQD8zMzMzMzNHQF5gAAAAAABHQdpo53cAAACHlIwDQlIxlF2U"
    "SlxJCwBHQE4AAAAAAABLAEdB2mjnaAAAAHSULg=="
)


def test_a_version_2_snapshot_loads_with_the_new_fields_filled_from_what_it_kept():
    state = AccountState.from_bytes(V2_SNAPSHOT)
    assert state.home_branch == "BR1" and state.last_login_id == ""
    f = feed(state, payment(V2_T0 + timedelta(minutes=80), 40.0, payee_account="B1"))
    assert f["payment_history_count"] == 3 and f["is_new_payee"] is False
    assert (f["pay_count_24h"], f["pay_sum_24h"]) == (4, 100.0)
    # The long windows start from the 24 h the old version kept.
    assert (f["pay_count_7d"], f["pay_sum_7d"], f["pay_count_30d"]) == (4, 100.0, 4)
    assert f["amount_to_mean_30d"] == pytest.approx(2.0)  # 40 / mean(10, 20, 30)
    assert f["days_since_first_payment"] == pytest.approx(70 / (24 * 60))
    # The login at 10:01 was d1's first: it is the last new-device login.
    assert f["minutes_since_new_device_login"] == pytest.approx(79.0)
    assert f["session_login_id"] == "" and f["new_device_otp_night"] is False
    assert f["failures_before_login"] == 1
    again = AccountState.from_bytes(state.to_bytes())
    nxt = payment(V2_T0 + timedelta(days=2), 15.0)
    assert feed(again, nxt) == feed(state, nxt)


def test_a_snapshot_of_an_unknown_version_is_refused():
    import pickle

    blob = pickle.dumps((99, *pickle.loads(AccountState().to_bytes())[1:]))
    with pytest.raises(ValueError, match="version 99"):
        AccountState.from_bytes(blob)
