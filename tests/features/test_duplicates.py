"""A redelivered event is recognised by its event_id and absorbed only once."""

from __future__ import annotations

import pickle

from riskflow.features.account import AccountState, FeatureConfig
from riskflow.features.operator import AccountLogic, Duplicate, Featured
from tests.features.envelopes import label, log_in, pay


def featured(out: list, eid: str) -> dict:
    (item,) = [x for x in out if isinstance(x, Featured) and x.event.event_id == eid]
    return dict(item.features)


def test_a_repeat_leaves_as_duplicate_and_changes_nothing():
    logic = AccountLogic(AccountState())
    logic.on_batch([pay("P1", 0, 100.0), log_in("L1", 1, False)])
    before = logic.state.to_bytes()
    again, _ = logic.on_batch([pay("P1", 0, 100.0), log_in("L1", 1, False)])
    dups = [x for x in again if isinstance(x, Duplicate)]
    assert len(dups) == len(again) == 2
    assert [x.event.event_id for x in dups] == ["P1", "L1"]
    assert dups[0].received_at == 1.0 and dups[0].topic == "payments"
    assert logic.state.to_bytes() == before

    out, _ = logic.on_batch([pay("P2", 2, 50.0, payee="NEW")])
    f = featured(out, "P2")
    assert f["pay_count_5m"] == 2 and f["pay_sum_5m"] == 150.0
    assert f["pay_count_7d"] == 2 and f["pay_count_30d"] == 2
    assert f["payment_history_count"] == 1
    assert f["failed_logins_15m"] == 1


def test_a_repeat_within_one_batch_is_a_duplicate():
    logic = AccountLogic(AccountState())
    out, _ = logic.on_batch([pay("P1", 0, 100.0), pay("P1", 0, 100.0), pay("P2", 1, 5.0)])
    assert [type(x) for x in out] == [Featured, Duplicate, Featured]
    assert featured(out, "P2")["pay_count_5m"] == 2


def test_the_ids_are_bounded_by_count_and_by_event_time():
    state = AccountState(FeatureConfig(recent_ids_cap=3, recent_ids_days=1.0))
    for i in range(5):
        state.remember(f"E{i}", float(i))
    assert list(state.recent_ids) == ["E2", "E3", "E4"]
    state.remember("LATER", 4 + 86400.0)
    assert list(state.recent_ids) == ["E4", "LATER"]
    assert not state.absorbed("E0") and state.absorbed("LATER")


def test_snapshot_round_trip_keeps_the_ids():
    logic = AccountLogic(AccountState())
    logic.on_batch([pay("P1", 0, 100.0), log_in("L1", 1, True)])
    restored = AccountLogic(AccountState.from_bytes(logic.snapshot()))
    assert restored.state.recent_ids == logic.state.recent_ids
    out, _ = restored.on_batch([pay("P1", 0, 100.0), log_in("L1", 1, True)])
    assert all(isinstance(x, Duplicate) for x in out) and len(out) == 2


def test_a_version_3_snapshot_still_loads():
    logic = AccountLogic(AccountState())
    logic.on_batch([pay("P1", 0, 100.0), pay("P2", 5, 40.0)])
    current = pickle.loads(logic.state.to_bytes())
    v3 = pickle.dumps((3, *current[1:25]))
    state = AccountState.from_bytes(v3)
    assert state.recent_ids == {}
    assert state.payments.to_state() == logic.state.payments.to_state()
    assert state.week.to_state() == logic.state.week.to_state()
    # Without the ids an old state absorbs anew; from then on it remembers.
    out, _ = AccountLogic(state).on_batch([pay("P3", 6, 1.0), pay("P3", 6, 1.0)])
    assert [type(x) for x in out] == [Featured, Duplicate]


def test_a_failed_event_is_not_remembered(monkeypatch):
    original = AccountState.on_payment
    calls = {"n": 0}

    def flaky(self, p, t, hour):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("transient")
        return original(self, p, t, hour)

    monkeypatch.setattr(AccountState, "on_payment", flaky)
    logic = AccountLogic(AccountState())
    first, _ = logic.on_batch([pay("P1", 0, 100.0)])
    again, _ = logic.on_batch([pay("P1", 0, 100.0)])
    assert not isinstance(first[0], Featured)
    assert isinstance(again[0], Featured)


def history(*batches: list) -> str:
    """The digest an account ends with after absorbing these batches."""
    logic = AccountLogic(AccountState())
    for batch in batches:
        logic.on_batch(batch)
    return logic.state.history.hex()


def test_the_history_digest_is_what_was_absorbed_in_the_order_absorbed():
    events = [pay("P1", 0, 100.0), log_in("L1", 1, True), label("P1", 2)]
    once = history(events)
    assert len(once) == 16 and history(events) == once
    assert history(events[:2], events[2:]) == once  # batches do not matter, order does
    assert history([events[1], events[0], events[2]]) != once
    assert history(events[:2]) != once  # a label is part of the history
    assert history([*events[:2], label("P1", 2, fraud=False)]) != once
    # A duplicate is not absorbed, so it is not history either.
    assert history(events, [pay("P1", 0, 100.0)]) == once


def test_each_decided_event_carries_the_history_up_to_it():
    logic = AccountLogic(AccountState())
    out, _ = logic.on_batch([pay("P1", 0, 100.0), log_in("L1", 1, True)])
    first, second = (x for x in out if isinstance(x, Featured))
    assert first.history == history([pay("P1", 0, 100.0)])
    assert second.history == logic.state.history.hex() != first.history


def test_the_history_survives_a_snapshot_and_a_version_4_state_starts_it_anew():
    logic = AccountLogic(AccountState())
    logic.on_batch([pay("P1", 0, 100.0), log_in("L1", 1, True)])
    assert AccountState.from_bytes(logic.state.to_bytes()).history == logic.state.history
    current = pickle.loads(logic.state.to_bytes())
    old = AccountState.from_bytes(pickle.dumps((4, *current[1:27])))
    assert old.history == b"" and old.recent_ids == logic.state.recent_ids
