"""An event the account step fails on is dead-lettered and leaves the state untouched."""

from __future__ import annotations

import pytest

from riskflow.contract.messages import DeadLetter, Feedback, Login
from riskflow.contract.parse import Envelope
from riskflow.features.account import AccountState, FeatureConfig
from riskflow.features.operator import REBASE_AFTER, AccountLogic, Featured, account_logic
from tests.features.envelopes import T0, pay


class Boom(RuntimeError):
    pass


@pytest.fixture
def failing_on(monkeypatch):
    """Make on_payment raise for one amount, after it has already changed the state."""

    def install(bad_amount: float) -> None:
        original = AccountState.on_payment

        def on_payment(self, p, t, hour):
            if p.amount == bad_amount:
                self.payments.add(t, 1e9)  # half-done work that must not survive
                self.day_total += 1e9
                self.payees.touch("POISON", t)
                raise Boom("A1 secret")
            return original(self, p, t, hour)

        monkeypatch.setattr(AccountState, "on_payment", on_payment)

    return install


def features_of(out: list, eid: str) -> dict:
    (item,) = [x for x in out if isinstance(x, Featured) and x.event.event_id == eid]
    return dict(item.features)


def run(logic: AccountLogic, batches: list[list[Envelope]]) -> list:
    out: list = []
    for batch in batches:
        items, _ = logic.on_batch(batch)
        out.extend(items)
    return out


@pytest.mark.parametrize("split", [False, True], ids=["one_batch", "batch_per_event"])
@pytest.mark.parametrize("snapshot_before", [False, True], ids=["fresh", "after_snapshot"])
def test_a_failing_event_is_a_dead_letter_and_the_next_sees_the_state_without_it(
    failing_on, caplog, split, snapshot_before
):
    events = [pay("P1", 0, 100.0), pay("P2", 5, 666.0, payee="NEW"), pay("P3", 10, 50.0)]
    clean = run(account_logic(FeatureConfig())(None), [[events[0]], [events[2]]])

    failing_on(666.0)
    logic = account_logic(FeatureConfig())(None)
    if snapshot_before:
        run(logic, [[events[0]]])
        logic = account_logic(FeatureConfig())(logic.snapshot())
        batches = [[events[1]], [events[2]]] if split else [events[1:]]
    else:
        batches = [[e] for e in events] if split else [events]
    with caplog.at_level("WARNING"):
        out = run(logic, batches)

    dead = [x for x in out if isinstance(x, DeadLetter)]
    assert len(dead) == 1
    letter = dead[0]
    assert letter.reason == "internal_error" and "Boom" in letter.error
    assert (letter.source_topic, letter.source_offset) == ("payments", 5)
    assert "secret" not in letter.error
    assert "A1" not in caplog.text and "secret" not in caplog.text and "Boom" in caplog.text
    assert features_of(out, "P3") == features_of(clean, "P3")
    assert "POISON" not in logic.state.payees.seen


def test_logins_and_labels_that_fail_are_isolated_too(monkeypatch):
    def boom(*_args):
        raise ZeroDivisionError

    monkeypatch.setattr(AccountState, "on_login", boom)
    monkeypatch.setattr(AccountState, "on_feedback", boom)
    login = Login(event_id="L1", ts=T0, account_id="A1", channel="mobile", success=True)
    label = Feedback(event_id="P0", account_id="A1", label="fraud", ts=T0)
    logic = account_logic(FeatureConfig())(None)
    out = run(logic, [[Envelope(login, 0.0), Envelope(label, 0.0), pay("P1", 1, 10.0)]])
    assert [type(x) for x in out] == [DeadLetter, DeadLetter, Featured]
    assert all("ZeroDivisionError" in x.error for x in out[:2])


def test_without_snapshots_the_events_kept_to_rebuild_stay_bounded_and_a_failure_still_rebuilds(
    failing_on,
):
    # No recovery store: the epoch's close writes nothing, so the step writes its state
    # down itself every REBASE_AFTER events; a failure after that rebuilds from there.
    events = [pay(f"P{i}", i, 10.0 + i) for i in range(REBASE_AFTER + 6)]
    poison, after = pay("PX", len(events), 666.0), pay("PY", len(events) + 1, 20.0)
    clean = run(account_logic(FeatureConfig())(None), [events, [after]])

    failing_on(666.0)
    logic = account_logic(FeatureConfig(), snapshots=False)(None)
    run(logic, [[e] for e in events])
    assert logic.snapshot() == b""
    assert len(logic._since) == len(events) - REBASE_AFTER  # the rest is in the base
    out = run(logic, [[poison, after]])
    assert sum(isinstance(x, DeadLetter) for x in out) == 1
    assert features_of(out, "PY") == features_of(clean, "PY")
    assert "POISON" not in logic.state.payees.seen
