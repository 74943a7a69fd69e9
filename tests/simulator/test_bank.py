"""The bank behind the stream: derived customers, their cycles and their travels."""

from __future__ import annotations

import json
import tracemalloc
from collections import defaultdict
from datetime import datetime

import pytest

from riskflow.features.geo import haversine_km
from riskflow.simulator.bank import MAX_NEW_DEVICES, TRAVELLING, Bank
from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate_with_truth

CONFIG = SimConfig(seed=9, customers=400, days=62.0, events_per_customer_day=3.0)


@pytest.fixture(scope="module")
def honest():
    """Every message that is neither fraud nor broken, decoded, with its time."""
    out = []
    for record, truth in generate_with_truth(CONFIG):
        if truth is None and record.kind != "feedback":
            out.append((record.ts, json.loads(record.payload)))
    return out


def test_a_customer_is_the_same_whenever_and_wherever_it_is_built():
    a, b = Bank(SimConfig(seed=3)), Bank(SimConfig(seed=3))
    for i in (0, 1, 4_999, 49_999):
        assert a.customer(i) == b.customer(i)
    other = Bank(SimConfig(seed=4))
    mine = [a.customer(i).payees for i in range(20)]
    assert mine != [other.customer(i).payees for i in range(20)]


def test_home_city_is_the_home_branch_city():
    bank = Bank(SimConfig(seed=3, customers=500))
    for i in range(500):
        c = bank.customer(i)
        assert c.city == bank.branch_city[c.branch_id]
        assert c.active_at(c.active_from) and not c.active_at(c.active_to)


def test_what_a_customer_changes_is_remembered_and_bounded():
    bank = Bank(SimConfig(seed=3, customers=100))
    c = bank.customer(7)
    payee = bank.new_payee(c)
    assert payee is not None and payee not in bank.customer(6).payees
    assert bank.customer(7).payees[-1] == payee
    devices = [bank.new_device(bank.customer(7)) for _ in range(MAX_NEW_DEVICES + 2)]
    assert devices[MAX_NEW_DEVICES:] == [None, None]
    assert bank.customer(7).devices[-MAX_NEW_DEVICES:] == devices[:MAX_NEW_DEVICES]
    bank.logged_in(c, 1234.5)
    assert bank.customer(7).last_login == 1234.5
    assert bank.customer(8).last_login < 0


def test_a_bank_of_two_million_customers_holds_a_few_bytes_each():
    tracemalloc.start()
    bank = Bank(SimConfig(seed=1, customers=2_000_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 12 * 2_000_000
    assert bank.customer(1_999_999).account_id == "A1999999"


def test_cycle_days_partition_the_bank():
    bank = Bank(SimConfig(seed=5, customers=1000))
    seen = sorted(i for day in range(1, 29) for i in bank.on_cycle_day(day))
    assert seen == list(range(1000))
    for i in bank.on_cycle_day(17):
        assert bank.customer(i).cycle_day == 17


def test_bills_and_rent_follow_the_monthly_cycle(honest):
    bank = Bank(CONFIG)
    paid: dict[str, list[tuple[datetime, dict]]] = defaultdict(list)
    for _, body in honest:
        if "amount" in body:
            paid[body["account_id"]].append((datetime.fromisoformat(body["ts"]), body))
    checked = 0
    for i in range(CONFIG.customers):
        c = bank.customer(i)
        if not c.billers or c.cycle_day > 26:
            continue
        bills = [(ts, b) for ts, b in paid[c.account_id] if b["txn_type"] == "bill"]
        for merchant, usual in c.billers:
            months = {
                ts.month
                for ts, b in bills
                if b.get("merchant_id") == merchant
                and c.cycle_day <= ts.day <= c.cycle_day + 2
                and 0.8 * usual - 0.01 <= b["amount"] <= 1.25 * usual + 0.01
            }
            # March and April; a trip can push one month's bills to after the trip.
            assert months, (c.account_id, merchant)
            checked += 1
        if c.rent:
            rent = [
                b
                for ts, b in paid[c.account_id]
                if b.get("payee_account") == c.payees[0] and b["amount"] >= 0.97 * c.rent
            ]
            assert rent, c.account_id
    assert checked > 100


def test_honest_customers_never_outrun_an_airliner(honest):
    last: dict[str, tuple[float, float, float]] = {}
    jumps = 0
    for ts, body in honest:
        if "lat" not in body:
            continue
        here = (body["lat"], body["lon"], ts)
        before = last.get(body["account_id"])
        last[body["account_id"]] = here
        if before is None:
            continue
        km = haversine_km(before[0], before[1], here[0], here[1])
        if km > 100:
            jumps += 1
            assert km / max((ts - before[2]) / 3600, 1e-9) < 900, body
    assert jumps > 50, "trips happen"


def test_travellers_pay_in_the_city_they_visit(honest):
    bank = Bank(CONFIG)
    away = 0
    for ts, body in honest:
        if "lat" not in body:
            continue
        c = bank.customer(int(body["account_id"][1:]))
        where = bank.trip(c, ts)
        if where == TRAVELLING:
            # Only the tail of a session begun before leaving (sessions last < 30 min).
            assert bank.trip(c, ts - 1800) != TRAVELLING, body
            continue
        if where is not None:
            away += 1
            assert body.get("ip", "100.72.").startswith("100.72.")
    assert away > 100


def test_the_customer_cache_changes_nothing_but_speed():
    config = SimConfig(seed=6, customers=300, days=20.0, events_per_customer_day=4.0)
    uncached = SimConfig(
        seed=6, customers=300, days=20.0, events_per_customer_day=4.0, customer_cache=0
    )
    a = [(r.topic, r.payload) for r, _ in generate_with_truth(config)]
    assert a == [(r.topic, r.payload) for r, _ in generate_with_truth(uncached)]
    # New phones and payees happened, so the cache had state to keep right.
    assert any(b'-new1"' in payload for _, payload in a)
