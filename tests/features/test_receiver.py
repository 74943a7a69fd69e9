"""The account as a receiver: what other accounts paid it, seen from its own payments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bytewax.operators as op
import msgspec
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, run_main
from hypothesis import given
from hypothesis import strategies as st

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import FEATURES, defaults, entity_of
from riskflow.features.entity import entity_stage
from riskflow.features.operator import Featured
from riskflow.features.receiver import (
    RECEIVER_FEATURES,
    ReceiverConfig,
    ReceiverState,
    neutral,
    receiver_entity,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pay(account: str, minutes: float, payee: str | None, amount: float = 100.0) -> Payment:
    return Payment(
        event_id=f"P-{account}-{payee}-{minutes}",
        ts=T0 + timedelta(minutes=minutes),
        account_id=account,
        amount=amount,
        channel="mobile",
        txn_type="transfer",
        payee_account=payee,
    )


def test_the_catalogue_names_the_receiver_entity_and_neutral_values_are_its_defaults():
    assert all(n in FEATURES and entity_of(n) == "receiver" for n in RECEIVER_FEATURES)
    assert len(RECEIVER_FEATURES) == 4
    assert neutral() == {n: defaults()[n] for n in RECEIVER_FEATURES}


def test_a_payout_right_after_money_arrived_reads_what_arrived():
    mule = ReceiverState()
    mule.notice(pay("V1", 0, "M", amount=1000.0))
    mule.notice(pay("V2", 30, "M", amount=500.0))
    f = mule.observe(pay("M", 50, "OUT", amount=1200.0))
    assert f == {
        "received_1h": 1500.0,
        "received_24h": 1500.0,
        "received_senders_24h": 2,
        "amount_to_received_24h": 0.8,
    }
    # Two hours on: out of the hour, still in the day.
    assert mule.observe(pay("M", 150, "OUT"))["received_1h"] == 0.0
    assert mule.observe(pay("M", 150, "OUT"))["received_24h"] == 1500.0


def test_an_account_that_received_nothing_reads_zeros_and_a_late_payout_sees_nothing_later():
    assert ReceiverState().observe(pay("A", 0, "SHOP")) == neutral()
    s = ReceiverState()
    s.notice(pay("V", 600, "A", amount=50.0))
    assert s.observe(pay("A", 10, "SHOP"))["received_24h"] == 0.0


@given(st.lists(st.tuples(st.integers(0, 50), st.floats(-3000, 3000)), max_size=200))
def test_the_state_stays_bounded_and_survives_its_snapshot(notices):
    cfg = ReceiverConfig(inbound_cap=8)
    s = ReceiverState(cfg)
    for sender, minutes in notices:
        s.notice(pay(f"S{sender}", minutes, "A"))
    assert len(s.inbound) <= 8
    probe = pay("A", 3001, "OUT")
    assert ReceiverState.from_bytes(s.to_bytes(), cfg).observe(probe) == s.observe(probe)


def test_a_snapshot_written_before_any_field_was_added_loads():
    class Empty(msgspec.Struct, array_like=True):
        pass

    assert ReceiverState.from_bytes(msgspec.msgpack.encode(Empty())).inbound == []


def test_the_stage_gives_each_payment_what_its_payer_received_and_logins_neutral():
    login = Login(event_id="L1", ts=T0, account_id="M", channel="mobile", success=True)
    events = [
        pay("V1", 0, "M", amount=1000.0),
        pay("M", 20, "OUT", amount=900.0),
        pay("M", 21, "M", amount=5.0),  # to itself: not money arriving
        pay("M", 22, "OUT2", amount=10.0),
    ]
    flow = Dataflow("receiver_test")
    items = [Featured(e, {}, None, 0.0) for e in [login, *events]]
    up = op.input("in", flow, TestingSource(items))
    got: list[Featured] = []
    op.output("out", entity_stage("receiver", up, receiver_entity()), TestingSink(got))
    run_main(flow)
    by_id = {x.event.event_id: x.features for x in got}
    assert len(got) == 5
    assert by_id["L1"] == neutral()
    assert by_id[events[0].event_id]["received_24h"] == 0.0
    assert by_id[events[1].event_id]["amount_to_received_24h"] == 0.9
    assert by_id[events[3].event_id]["received_24h"] == 1000.0
