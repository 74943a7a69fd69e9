"""The simulated bank: valid, deterministic, time-ordered, and its ground truth holds."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

import msgspec
import pytest

from riskflow.contract.messages import Feedback, Login, Payment
from riskflow.contract.parse import Raw, parse
from riskflow.features.geo import haversine_km
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl
from riskflow.simulator.stream import Bank, generate, generate_with_truth

TYPES = {"payment": Payment, "login": Login, "feedback": Feedback}
CONFIG = SimConfig(
    seed=3,
    customers=800,
    days=6.0,
    events_per_customer_day=6.0,
    fraud_rate=0.02,
    malformed_rate=0.01,
)


@pytest.fixture(scope="module")
def stream():
    return list(generate_with_truth(CONFIG))


def test_every_message_meets_the_contract_unless_broken_on_purpose(stream):
    for record, truth in stream:
        if truth is not None and truth["kind"] == "malformed":
            continue
        msgspec.json.decode(record.payload, type=TYPES[record.kind])


def test_broken_messages_fail_with_the_reason_in_the_truth(stream):
    broken = [(r, t) for r, t in stream if t is not None and t["kind"] == "malformed"]
    assert len(broken) > 20
    for record, truth in broken:
        result = parse(Raw(record.kind, record.payload, record.topic))
        assert getattr(result, "reason", None) == truth["expected_reason"]


def test_same_seed_same_bytes_and_other_seed_differs():
    small = SimConfig(seed=11, customers=200, max_events=3000, days=30)
    first = [r.payload for r in generate(small)]
    assert first == [r.payload for r in generate(small)]
    other = SimConfig(seed=12, customers=200, max_events=3000, days=30)
    assert first != [r.payload for r in generate(other)]
    assert len(first) == 3000


def test_stream_is_in_event_time_order_and_labels_follow_their_events(stream):
    times = [r.ts for r, _ in stream]
    assert times == sorted(times)
    seen: dict[str, float] = {}
    for record, truth in stream:
        if truth is not None and truth["kind"] == "malformed":
            # Broken in transit: its label can still arrive later.
            seen[truth["event_id"]] = record.ts
            continue
        body = json.loads(record.payload)
        if record.kind == "feedback":
            assert body["event_id"] in seen
            assert record.ts > seen[body["event_id"]]
        else:
            seen[body["event_id"]] = record.ts


def test_timestamps_carry_the_bank_zone(stream):
    record = next(r for r, _ in stream if r.kind == "payment")
    ts = datetime.fromisoformat(json.loads(record.payload)["ts"])
    assert ts.utcoffset() is not None and ts.utcoffset().total_seconds() == 8 * 3600
    assert abs(ts.timestamp() - record.ts) < 0.001


def by_scenario(stream) -> dict[str, dict[str, list[dict]]]:
    """scenario -> account -> its fraud events in order."""
    out: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record, truth in stream:
        if truth is not None and truth["is_fraud"]:
            body = json.loads(record.payload) | {"_kind": record.kind, "_t": record.ts}
            out[truth["scenario"]][truth["account_id"]].append(body)
    return out


def test_guessed_password_logins_fail_then_succeed_on_a_new_device_then_transfers(stream):
    cases = by_scenario(stream)["password_guessing"]
    assert cases
    for events in cases.values():
        logins = [e for e in events if e["_kind"] == "login"]
        payments = [e for e in events if e["_kind"] == "payment"]
        first_success = next(i for i, e in enumerate(logins) if e["success"])
        assert first_success >= 3
        assert all(not e["success"] for e in logins[:first_success])
        success = logins[first_success]
        assert success["device_id"].startswith("emu-")
        assert payments and all(p["_t"] > success["_t"] for p in payments)
        assert payments[0]["_t"] - success["_t"] <= 30 * 60
        assert all(
            p["txn_type"] == "transfer" and p["payee_account"].startswith("M") for p in payments
        )


def episodes(events: list[dict], gap: float = 3600.0) -> list[list[dict]]:
    """Split one account's fraud events into separate attacks."""
    out: list[list[dict]] = []
    for e in events:
        if not out or e["_t"] - out[-1][-1]["_t"] > gap:
            out.append([])
        out[-1].append(e)
    return out


def test_card_testing_is_small_card_payments_within_minutes(stream):
    cases = by_scenario(stream)["card_testing"]
    assert cases
    for events in cases.values():
        assert all(e["txn_type"] == "card" for e in events)
        for attack in episodes(events):
            small = [e for e in attack if e["amount"] <= 5.0]
            assert len(small) >= 6
            assert small[-1]["_t"] - small[0]["_t"] <= 10 * 60


def test_night_transfers_happen_between_one_and_six_local(stream):
    cases = by_scenario(stream)["large_night_transfer"]
    assert cases
    for events in cases.values():
        for e in events:
            assert 1 <= datetime.fromisoformat(e["ts"]).hour < 6


def test_impossible_travel_implies_more_than_900_kmh(stream):
    home_logins: dict[str, tuple[float, float, float]] = {}
    for record, truth in stream:
        if record.kind == "login" and truth is None:
            body = json.loads(record.payload)
            if body.get("success") and "lat" in body:
                home_logins[body["account_id"]] = (body["lat"], body["lon"], record.ts)
        if (
            truth is not None
            and truth["scenario"] == "impossible_travel"
            and record.kind == "login"
        ):
            body = json.loads(record.payload)
            lat, lon, t = home_logins[body["account_id"]]
            km = haversine_km(lat, lon, body["lat"], body["lon"])
            assert km > 900
            assert km / ((record.ts - t) / 3600) > 900


def test_mule_payees_are_on_the_deny_list(stream):
    listed = {row["value"] for row in Bank(CONFIG).denylist_rows() if row["entity"] == "payee"}
    cases = by_scenario(stream)["mule_payee"]
    assert cases
    for events in cases.values():
        assert all(e["payee_account"] in listed for e in events)


def test_write_jsonl_counts_match_the_files(tmp_path):
    counts = write_jsonl(SimConfig(seed=2, customers=300, days=2.0, malformed_rate=0.01), tmp_path)
    for name, n in counts.items():
        lines = (tmp_path / name).read_bytes().splitlines()
        assert len(lines) == n + (1 if name == "denylist.csv" else 0)
    assert counts["payments.jsonl"] > 0 and counts["truth.jsonl"] > 0
