"""Per-terminal features across cards: each signal fires in one case and not in another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, FEATURES, defaults, entity_of
from riskflow.features.terminal import (
    TERMINAL_FEATURES,
    TerminalConfig,
    TerminalState,
    neutral,
    terminal_key,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pay(
    account: str,
    minutes: float,
    amount: float = 2.0,
    terminal: str | None = "T1",
    merchant: str | None = "M1",
) -> Payment:
    return Payment(
        event_id=f"P-{account}-{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id=account,
        amount=amount,
        channel="pos",
        txn_type="card",
        merchant_id=merchant,
        terminal_id=terminal,
    )


def test_the_catalogue_names_the_terminal_entity_and_neutral_values_are_its_defaults():
    assert set(TERMINAL_FEATURES) == {
        "terminal_cards_10m",
        "terminal_small_cards_10m",
        "terminal_payments_1h",
    }
    assert all(n in FEATURES for n in TERMINAL_FEATURES)
    assert {entity_of(n) for n in TERMINAL_FEATURES} == {"terminal"}
    assert set(TERMINAL_FEATURES) <= set(ENTITY_OF)
    assert neutral() == {n: defaults()[n] for n in TERMINAL_FEATURES}


def test_the_key_is_the_terminal_else_the_merchant_and_the_two_never_collide():
    assert terminal_key(pay("A", 0, terminal="X", merchant="M")) == "t:X"
    assert terminal_key(pay("A", 0, terminal=None, merchant="X")) == "m:X"
    assert terminal_key(pay("A", 0, terminal="", merchant="")) is None
    assert terminal_key(pay("A", 0, terminal=None, merchant=None)) is None
    login = Login(event_id="L", ts=T0, account_id="A", channel="mobile", success=True)
    assert terminal_key(login) is None


def test_many_cards_in_10_minutes_fire_and_the_event_itself_does_not_count():
    s = TerminalState()
    first = s.observe(pay("C0", 0))
    assert first == neutral()  # the first payment sees nothing before it
    for i in range(1, 6):
        s.observe(pay(f"C{i}", i * 0.5))
    f = s.observe(pay("C6", 3.5))
    assert f["terminal_cards_10m"] == 6
    assert f["terminal_small_cards_10m"] == 6
    assert f["terminal_payments_1h"] == 6


def test_one_card_paying_again_and_again_is_one_card():
    s = TerminalState()
    for i in range(8):
        s.observe(pay("SAME", i * 0.5))
    f = s.observe(pay("OTHER", 5))
    assert f["terminal_cards_10m"] == 1
    assert f["terminal_small_cards_10m"] == 1
    assert f["terminal_payments_1h"] == 8


def test_ordinary_amounts_count_as_cards_but_not_as_small_cards():
    s = TerminalState()
    for i in range(6):
        s.observe(pay(f"C{i}", i, amount=45.0))
    s.observe(pay("EDGE", 6, amount=10.0))  # at the limit: small
    f = s.observe(pay("X", 7, amount=3.0))
    assert f["terminal_cards_10m"] == 7
    assert f["terminal_small_cards_10m"] == 1


def test_the_small_amount_is_configurable():
    s = TerminalState(TerminalConfig(small_amount=1.0))
    s.observe(pay("A", 0, amount=2.0))
    s.observe(pay("B", 1, amount=0.5))
    assert s.observe(pay("C", 2))["terminal_small_cards_10m"] == 1


def test_the_10_minute_counts_forget_and_the_hour_forgets_later():
    s = TerminalState()
    for i in range(5):
        s.observe(pay(f"C{i}", i * 0.2))
    f = s.observe(pay("X", 11))
    assert (f["terminal_cards_10m"], f["terminal_small_cards_10m"]) == (0, 0)
    assert f["terminal_payments_1h"] == 6 - 1  # the five, not X itself
    assert s.observe(pay("Y", 75))["terminal_payments_1h"] == 0


def test_a_late_event_sees_only_what_came_before_it():
    s = TerminalState()
    s.observe(pay("A", 5))
    s.observe(pay("B", 6))
    assert s.observe(pay("LATE", 4))["terminal_cards_10m"] == 0


def test_a_snapshot_round_trips():
    s = TerminalState()
    for i in range(4):
        s.observe(pay(f"C{i}", i * 0.5))
    loaded = TerminalState.from_bytes(s.to_bytes())
    assert loaded.payments == s.payments
    assert loaded.observe(pay("N", 3)) == s.observe(pay("N", 3))


def test_a_snapshot_of_an_older_version_still_loads():
    class Older(msgspec.Struct, array_like=True):
        pass  # the first version, before any field: nothing to remember

    blob = msgspec.msgpack.encode(Older())
    s = TerminalState.from_bytes(blob)
    assert s.payments == []
    assert s.observe(pay("A", 0)) == neutral()

    class Newer(msgspec.Struct, array_like=True):  # a later version with one field more
        payments: list[tuple[int, int, bool]] = []
        extra: int = 7

    t = int((T0 + timedelta(minutes=1)).timestamp())
    s = TerminalState.from_bytes(msgspec.msgpack.encode(Newer([(t, 1, True)])))
    assert s.observe(pay("A", 2))["terminal_small_cards_10m"] == 1


def test_state_stays_bounded_under_a_flood():
    cap = 50
    s = TerminalState(TerminalConfig(payments_cap=cap))
    for i in range(5000):
        s.observe(pay(f"C{i}", i * 0.001))
    assert len(s.payments) == cap
    f = s.observe(pay("LAST", 6))
    assert f["terminal_cards_10m"] == cap  # saturates at the cap
    assert len(s.to_bytes()) < 40 * cap
    # Hours later the window is empty again.
    s.observe(pay("LATER", 300))
    assert len(s.payments) == 1
