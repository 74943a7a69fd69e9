"""Per-payee features across senders: each signal fires in one case and not in another."""

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
from riskflow.features.entity import Notice, entity_logic, entity_stage
from riskflow.features.operator import Featured
from riskflow.features.payee import (
    PAYEE_FEATURES,
    PayeeConfig,
    PayeeState,
    neutral,
    payee_entity,
    payee_key,
    payer_key,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MULE = "A-MULE"


def pay(account: str, hours: float, payee: str | None = MULE, amount: float = 100.0) -> Payment:
    return Payment(
        event_id=f"P-{account}-{payee}-{hours}",
        ts=T0 + timedelta(hours=hours),
        account_id=account,
        amount=amount,
        channel="mobile",
        txn_type="transfer",
        payee_account=payee,
    )


def test_the_catalogue_names_the_payee_entity_and_neutral_values_are_its_defaults():
    assert set(PAYEE_FEATURES) == {
        "payee_senders_24h",
        "payee_senders_7d",
        "payee_inbound_24h",
        "payee_new_sender",
        "payee_forwarded_share_24h",
    }
    assert all(n in FEATURES and entity_of(n) == "payee" for n in PAYEE_FEATURES)
    assert neutral() == {n: defaults()[n] for n in PAYEE_FEATURES}


def test_a_payment_is_keyed_by_its_payee_and_noticed_to_its_payer():
    login = Login(event_id="L", ts=T0, account_id="A", channel="mobile", success=True)
    assert (payee_key(pay("A", 0)), payer_key(pay("A", 0))) == (MULE, "A")
    assert (payee_key(pay("A", 0, payee=None)), payer_key(pay("A", 0, payee=None))) == (None, None)
    assert (payee_key(login), payer_key(login)) == (None, None)


def test_many_senders_to_one_payee_are_counted_and_one_regular_sender_is_not():
    mule = PayeeState()
    for i in range(5):
        mule.observe(pay(f"V{i}", i * 2.0))
    f = mule.observe(pay("V9", 10.0))
    assert (f["payee_senders_24h"], f["payee_senders_7d"]) == (5, 5)
    assert f["payee_inbound_24h"] == 500.0 and f["payee_new_sender"] is True
    rent = PayeeState()
    for day in range(5):
        f = rent.observe(pay("TENANT", day * 24.0 + 1, payee="LANDLORD"))
    # The same sender again and again: no other sender, not new after the first time.
    assert (f["payee_senders_24h"], f["payee_senders_7d"], f["payee_new_sender"]) == (0, 0, False)


def test_senders_leave_the_windows_after_24_hours_and_7_days():
    s = PayeeState()
    s.observe(pay("V1", 0))
    f = s.observe(pay("V2", 25))
    assert (f["payee_senders_24h"], f["payee_senders_7d"], f["payee_inbound_24h"]) == (0, 1, 0.0)
    f = s.observe(pay("V3", 24 * 7 + 1))
    assert (f["payee_senders_24h"], f["payee_senders_7d"]) == (0, 1)  # V1 gone, V2 kept


def test_money_in_then_out_is_the_share_forwarded_and_nothing_without_inbound():
    mule = PayeeState()
    mule.observe(pay("V1", 0, amount=1000.0))
    mule.notice(pay(MULE, 0.5, payee="OUTSIDE", amount=850.0))
    f = mule.observe(pay("V2", 2, amount=700.0))
    assert f["payee_forwarded_share_24h"] == 0.85
    mule.notice(pay(MULE, 2.5, payee="OUTSIDE", amount=5000.0))
    assert mule.observe(pay("V3", 3))["payee_forwarded_share_24h"] == 1.0  # at most 1
    spender = PayeeState()
    spender.notice(pay("B", 0, payee="SHOP"))
    # Paid out but never received: nothing forwarded.
    assert spender.observe(pay("A", 1, payee="B"))["payee_forwarded_share_24h"] == 0.0


def test_a_late_event_counts_only_what_came_before_it():
    s = PayeeState()
    for i in range(4):
        s.observe(pay(f"V{i}", 10.0 + i))
    f = s.observe(pay("LATE", 1.0))
    assert (f["payee_senders_24h"], f["payee_inbound_24h"]) == (0, 0.0)


@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.floats(-500, 500), st.booleans()),
        min_size=1,
        max_size=300,
    )
)
def test_the_state_stays_bounded_and_survives_its_snapshot(ops):
    cfg = PayeeConfig(inbound_cap=16, outbound_cap=8)
    s = PayeeState(cfg)
    for sender, hours, outbound in ops:
        if outbound:
            s.notice(pay(MULE, hours, payee="OUT"))
        else:
            s.observe(pay(f"S{sender}", hours))
    assert len(s.inbound) <= 16 and len(s.outbound) <= 8
    again = PayeeState.from_bytes(s.to_bytes(), cfg)
    probe = pay("PROBE", 600)
    assert again.observe(probe) == s.observe(probe)


def test_a_snapshot_of_the_version_before_outbound_was_kept_still_loads():
    class First(msgspec.Struct, array_like=True):
        inbound: list[tuple[int, int, float]] = []

    old = msgspec.msgpack.encode(First([(int(T0.timestamp()), 7, 50.0)]))
    s = PayeeState.from_bytes(old)
    assert s.observe(pay("V", 1))["payee_senders_24h"] == 1 and s.outbound == []


def test_the_logic_takes_notices_for_history_only_and_gives_back_only_real_events():
    logic = entity_logic(payee_entity())(None)
    inbound = Featured(pay("V1", 0, amount=400.0), {}, None, 0.0)
    out, _ = logic.on_batch([inbound, Notice(pay(MULE, 0.5, payee="OUT", amount=300.0))])
    assert [x.event.event_id for x in out] == [inbound.event.event_id]
    out, _ = logic.on_batch([Featured(pay("V2", 1), {}, None, 0.0)])
    assert out[0].features["payee_forwarded_share_24h"] == 0.75


def test_the_stage_meets_a_mules_inbound_and_its_own_payouts_in_one_state():
    victims = [pay(f"V{i}", i * 1.0, amount=1000.0) for i in range(3)]
    payouts = [pay(MULE, i * 1.0 + 0.5, payee=f"OUT{i}", amount=900.0) for i in range(3)]
    honest = [pay("H", i * 1.0 + 0.2, payee="SHOP") for i in range(3)]
    events = sorted(victims + payouts + honest, key=lambda e: e.ts)
    flow = Dataflow("payee_test")
    up = op.input("in", flow, TestingSource([Featured(e, {"own": 1}, None, 0.0) for e in events]))
    got: list[Featured] = []
    op.output("out", entity_stage("payee", up, payee_entity()), TestingSink(got))
    run_main(flow)
    by_id = {x.event.event_id: x.features for x in got}
    assert len(got) == len(events) == len(by_id)  # every event once, notices never
    third = by_id[victims[2].event_id]
    assert third["payee_senders_24h"] == 2 and third["payee_forwarded_share_24h"] == 0.9
    assert by_id[honest[2].event_id]["payee_forwarded_share_24h"] == 0.0
    assert all(x.features["own"] == 1 for x in got)
