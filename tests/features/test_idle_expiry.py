"""In a live run an idle account's state is discarded after `idle_expiry_days`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bytewax.operators import StatefulBatchLogic

from riskflow.contract.messages import Payment
from riskflow.contract.parse import Envelope
from riskflow.features.account import AccountState, FeatureConfig
from riskflow.features.operator import account_logic

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = 86400.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def pay(eid: str, minutes: float) -> Envelope:
    event = Payment(
        event_id=eid,
        ts=T0 + timedelta(minutes=minutes),
        account_id="A1",
        amount=10.0,
        channel="online",
        txn_type="transfer",
    )
    return Envelope(event, 1.0, "payments", 0, 0)


def test_an_idle_account_expires_after_the_configured_time():
    clock = FakeClock(1_000_000.0)
    logic = account_logic(FeatureConfig(idle_expiry_days=2.0), live=True, clock=clock)(None)
    logic.on_batch([pay("P1", 0)])
    assert logic.notify_at() == datetime.fromtimestamp(1_000_000.0 + 2 * DAY, UTC)

    clock.now += 1.5 * DAY
    logic.on_batch([pay("P2", 1)])  # activity moves the deadline
    assert logic.notify_at() == datetime.fromtimestamp(clock.now + 2 * DAY, UTC)
    clock.now += 1.9 * DAY
    assert logic.on_notify()[1] is StatefulBatchLogic.RETAIN

    clock.now += 0.2 * DAY
    assert logic.on_notify() == ([], StatefulBatchLogic.DISCARD)


def test_the_idle_clock_survives_a_snapshot():
    clock = FakeClock(5_000.0)
    build = account_logic(FeatureConfig(idle_expiry_days=1.0), live=True, clock=clock)
    logic = build(None)
    logic.on_batch([pay("P1", 0)])
    clock.now += 0.6 * DAY
    restored = build(logic.snapshot())
    assert restored.notify_at() == datetime.fromtimestamp(5_000.0 + DAY, UTC)
    clock.now += 0.5 * DAY
    assert restored.on_notify()[1] is StatefulBatchLogic.DISCARD


def test_a_replay_never_expires_and_keeps_no_wall_clock():
    logic = account_logic(FeatureConfig(), clock=FakeClock(1.0))(None)
    logic.on_batch([pay("P1", 0)])
    assert logic.notify_at() is None
    assert AccountState.from_bytes(logic.snapshot()).active_at is None
