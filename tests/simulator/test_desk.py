"""Branch staff reviewing riskflow's alerts: capacity, delays, outcomes, and on Kafka."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from riskflow.simulator.bank import Bank
from riskflow.simulator.config import BANK_ZONE, SimConfig
from riskflow.simulator.desk import BranchDesk, fraud_event_ids
from riskflow.simulator.kafka import run_desk
from riskflow.simulator.stream import generate, generate_with_truth
from tests.infra.kafka import consume_all, new_topic, produce

HOUR = 3600.0
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=BANK_ZONE).timestamp()


def test_without_branch_reviews_the_payments_and_logins_are_the_same():
    with_reviews = SimConfig(seed=3, customers=2000, days=3.0)
    without = SimConfig(seed=3, customers=2000, days=3.0, branch_reviews=False)
    a = [r for r in generate(with_reviews)]
    b = [r for r in generate(without)]
    events = [(r.topic, r.payload) for r in a if r.kind != "feedback"]
    assert events == [(r.topic, r.payload) for r in b if r.kind != "feedback"]
    sources = [json.loads(r.payload).get("source") for r in b if r.kind == "feedback"]
    assert "branch_review" not in sources
    assert "branch_review" in [
        json.loads(r.payload).get("source") for r in a if r.kind == "feedback"
    ]


def test_each_branch_reviews_up_to_its_capacity_a_day_and_reports_the_truth():
    desk = BranchDesk({"F1", "F3", "F5"}, capacity_per_day=2, seed=1)
    assert desk.alerted("F1", "A1", "BR001", T0)
    assert desk.alerted("L2", "A2", "BR001", T0 + 60)
    assert not desk.alerted("F3", "A3", "BR001", T0 + 120)  # the branch is full today
    assert desk.alerted("F5", "A5", "BR002", T0 + 120)  # another branch is not
    assert desk.alerted("L4", "A4", "BR001", T0 + 24 * HOUR)  # tomorrow it is again
    assert desk.alerted("F1", "A1", "BR001", T0 + 300)  # re-sent after a restart: once
    assert desk.open == 1
    assert desk.due(T0 + 0.99 * HOUR) == []
    labels = desk.due(T0 + 8.1 * HOUR)
    assert sorted((x["event_id"], x["label"]) for x in labels) == [
        ("F1", "fraud"),
        ("F5", "fraud"),
        ("L2", "legit"),
    ]
    for x in labels:
        at = datetime.fromisoformat(x["ts"]).timestamp()
        assert T0 + HOUR <= at <= T0 + 8.1 * HOUR and x["source"] == "branch_review"
    assert [x["event_id"] for x in desk.due(float("inf"))] == ["L4"]


def test_fraud_event_ids_are_the_streams_fraud_truth():
    config = SimConfig(seed=2, customers=300, days=2.0, fraud_rate=0.05)
    truth = {t["event_id"] for _, t in generate_with_truth(config) if t and t["is_fraud"]}
    assert truth and fraud_event_ids(config) == truth


@pytest.mark.integration
def test_the_desk_turns_alerted_decisions_on_kafka_into_branch_review_labels(kafka_bootstrap):
    config = SimConfig(seed=2, customers=300, days=2.0, fraud_rate=0.05, branch_reviews=False)
    fraud = sorted(fraud_event_ids(config))[:3]
    bank = Bank(config)
    prefix = f"desk-{uuid.uuid4().hex[:8]}"
    decisions = new_topic(kafka_bootstrap, f"{prefix}.decisions", partitions=2)
    feedback = new_topic(kafka_bootstrap, f"{prefix}.feedback", partitions=2)

    def decision(event_id: str, account: str, action: str, hour: float) -> tuple[bytes, bytes]:
        ts = datetime.fromtimestamp(T0 + hour * HOUR, BANK_ZONE).isoformat()
        body = {"event_id": event_id, "account_id": account, "event_ts": ts, "action": action}
        return account.encode(), json.dumps(body | {"score": 0.9, "reasons": []}).encode()

    produce(
        kafka_bootstrap,
        decisions,
        [
            decision(fraud[0], "A0000001", "block", 0),
            decision(fraud[1], "A0000002", "review", 1),
            decision("P-honest", "A0000003", "review", 2),
            decision("P-allowed", "A0000004", "allow", 3),
            decision("P-unknown", "X-not-ours", "block", 4),
            (b"A0000005", b"not json"),
            decision("P-later", "A0000005", "allow", 20),  # moves the clock on
        ],
    )
    counts = run_desk(
        config,
        kafka_bootstrap,
        capacity_per_day=10,
        topics={"decisions": decisions, "feedback": feedback},
        idle_exit_s=4.0,
    )
    assert counts == {"alerts": 3, "reviewed": 3, "open": 0, "labels": 3}
    labels = {
        body["event_id"]: body
        for body in (json.loads(m.value()) for m in consume_all(kafka_bootstrap, feedback, 3, 30))
    }
    assert {k: v["label"] for k, v in labels.items()} == {
        fraud[0]: "fraud",
        fraud[1]: "fraud",
        "P-honest": "legit",
    }
    assert all(v["source"] == "branch_review" for v in labels.values())
    assert labels["P-honest"]["account_id"] == "A0000003"
    assert bank.customer(3).branch_id.startswith("BR")
