"""The flow as its own process on real Apache Kafka and a real redis-server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import yaml

from riskflow.contract.masking import mask_id
from tests.flows.streams import bank_day, ruleset_text
from tests.infra.kafka import consume_all, new_topic, produce

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def encode(row) -> bytes:
    return (row if isinstance(row, str) else json.dumps(row)).encode()


def key_of(row) -> bytes | None:
    return row["account_id"].encode() if isinstance(row, dict) else None


@pytest.fixture
def topics(kafka_bootstrap):
    prefix = f"it-{uuid.uuid4().hex[:8]}"
    names = {}
    for name in (
        "payments",
        "logins",
        "feedback",
        "decisions",
        "alerts",
        "deadletter",
        "notifications",
    ):
        names[name] = new_topic(kafka_bootstrap, f"{prefix}.{name}", partitions=3)
    return names


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def flow_process(tmp_path, kafka_bootstrap, redis_url, topics, metrics_port):
    rules = tmp_path / "rules.yaml"
    rules.write_text(ruleset_text("it-1"))
    deny = tmp_path / "deny.csv"
    deny.write_text("entity,value,reason,source\npayee,MULE9,mule account,police\n")
    config = tmp_path / "riskflow.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "input": {"type": "kafka"},
                "output": {"type": "kafka"},
                "kafka": {"bootstrap_servers": kafka_bootstrap, "topics": topics},
                "redis": {"url": redis_url, "key_prefix": "it"},
                "rules": {"path": str(rules)},
                "lists": {"path": str(deny)},
                "metrics": {"port": metrics_port},
                "recovery": {"directory": str(tmp_path / "recovery"), "snapshot_interval_s": 1},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    with open(tmp_path / "flow.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        yield proc
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_decisions_dead_letters_alerts_and_redis(
    kafka_bootstrap, topics, flow_process, redis_client, tmp_path, metrics_port
):
    day = bank_day()
    # Logins reach a bank's pipeline before the payments they enable.
    produce(kafka_bootstrap, topics["logins"], [(key_of(r), encode(r)) for r in day["logins"]])
    first = consume_all(kafka_bootstrap, topics["decisions"], expected=6, timeout=90)
    assert len(first) == 6, (tmp_path / "flow.log").read_text()[-3000:]
    produce(kafka_bootstrap, topics["payments"], [(key_of(r), encode(r)) for r in day["payments"]])
    produce(kafka_bootstrap, topics["feedback"], [(key_of(r), encode(r)) for r in day["feedback"]])

    messages = consume_all(kafka_bootstrap, topics["decisions"], expected=13, timeout=60)
    time.sleep(2)  # anything extra (a duplicate) would have arrived by now
    messages = consume_all(kafka_bootstrap, topics["decisions"], expected=14, timeout=3)
    decisions = [json.loads(m.value()) for m in messages]
    ids = [d["event_id"] for d in decisions]
    assert sorted(ids) == sorted([f"P{i}" for i in range(1, 8)] + [f"L{i}" for i in range(1, 7)])
    assert all(m.key().decode() == json.loads(m.value())["account_id"] for m in messages)
    by_id = {d["event_id"]: d for d in decisions}
    assert by_id["P4"]["action"] == "block" and by_id["P4"]["reasons"][0]["code"] == "ATO_CHAIN"
    assert by_id["P5"]["reasons"][0]["code"] == "DENY_PAYEE"
    assert {d["rules_version"] for d in decisions} == {"it-1"}

    dead = [
        json.loads(m.value()) for m in consume_all(kafka_bootstrap, topics["deadletter"], 4, 30)
    ]
    assert sorted(d["reason"] for d in dead) == sorted(
        ["not_json", "invalid_amount", "missing_field", "invalid_timestamp"]
    )
    assert {d["source_topic"] for d in dead} == {topics["payments"], topics["feedback"]}
    assert all(d["source_offset"] is not None for d in dead)
    assert all(d["payload_masked"] and not d["payload_sha256"] for d in dead)

    alerts = consume_all(kafka_bootstrap, topics["alerts"], expected=5, timeout=30)
    flagged = {e for e, d in by_id.items() if d["action"] in ("review", "block")}
    assert {json.loads(m.value())["event_id"] for m in alerts} == flagged
    for m in alerts:
        assert m.key().decode() == json.loads(m.value())["branch_id"]
    assert {json.loads(m.value())["event_id"]: m.key().decode() for m in alerts}[
        "P6"
    ] == "unassigned"

    notes = consume_all(kafka_bootstrap, topics["notifications"], expected=4, timeout=30)
    by_note = {json.loads(m.value())["notification_id"]: m for m in notes}
    intercepted = by_note["transfer_intercepted:P5"]
    # Keyed by the masked account, as the message names it: one account's stay in order.
    masked = mask_id(by_id["P5"]["account_id"])
    assert intercepted.key().decode() == masked == json.loads(intercepted.value())["account_id"]

    deadline = time.time() + 10
    record = {}
    while time.time() < deadline and b"decision" not in record:
        record = redis_client.hgetall("it:account:A1")
        time.sleep(0.2)
    features = json.loads(record[b"features"])
    assert features["pay_count_24h"] == 3 and features["amount"] == 25_000.0
    assert json.loads(record[b"decision"])["event_id"] == "P3"
    assert 0 < redis_client.ttl("it:account:A1") <= 30 * 86400

    # One endpoint: riskflow's metrics and bytewax's own operator metrics together.
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    assert 'riskflow_decisions_total{action="block",event_type="payment"} 4.0' in text
    assert 'riskflow_deadletters_total{reason="not_json"} 1.0' in text
    assert "riskflow_decision_latency_seconds_bucket" in text
    assert 'riskflow_rule_hits_total{action="block",rule_id="takeover"} 1.0' in text
    assert 'riskflow_ruleset_info{version="it-1"} 1.0' in text
    assert 'step_id="riskflow.features"' in text  # bytewax's per-operator metrics
    assert "account_id" not in text


def distinct(bootstrap: str, topic: str, field: str, want: int, timeout: float) -> set:
    """The distinct values of `field` on `topic`, read until `want` of them or `timeout`."""
    deadline = time.time() + timeout
    expected = want
    while True:
        seen = {
            json.loads(m.value())[field]
            for m in consume_all(bootstrap, topic, expected, max(1.0, deadline - time.time()))
        }
        if len(seen) >= want or time.time() >= deadline:
            return seen
        expected += want - len(seen)  # repeats took places: read that many more


def test_poison_between_valid_events_in_one_partition_survives_kill_and_restart(
    kafka_bootstrap, topics, flow_process, tmp_path
):
    from riskflow.simulator.hostile import hostile_messages, kind_of
    from tests.flows.streams import payment

    # One account, so one partition: every hostile payment sits between two valid ones.
    poison = [p for c, p in hostile_messages(64 * 3, seed=8) if kind_of(c) == "payment"]

    def batch(start: int, n: int) -> list[tuple[bytes | None, bytes]]:
        out: list[tuple[bytes | None, bytes]] = []
        for i in range(start, start + n):
            out.append((b"A1", encode(payment(f"K{i}", "A1", i, 10.0 + i))))
            out.append((b"A1", poison[i % len(poison)]))
        return out

    first, second = batch(0, 40), batch(40, 40)
    produce(kafka_bootstrap, topics["payments"], first)
    got = consume_all(kafka_bootstrap, topics["decisions"], expected=40, timeout=90)
    assert len(got) == 40, (tmp_path / "flow.log").read_text()[-3000:]
    assert flow_process.poll() is None  # still running after 40 poison messages
    flow_process.kill()  # kill -9, mid-stream, with recovery on
    flow_process.wait(timeout=20)
    produce(kafka_bootstrap, topics["payments"], second)
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    with open(tmp_path / "flow2.log", "wb") as log:
        again = subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(tmp_path / "riskflow.yaml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            decided = distinct(kafka_bootstrap, topics["decisions"], "event_id", 80, 120)
            assert decided == {f"K{i}" for i in range(80)}, (tmp_path / "flow2.log").read_text()[
                -3000:
            ]
            assert again.poll() is None
            # Every poison message has its dead letter (a replayed epoch may repeat some).
            offsets = distinct(kafka_bootstrap, topics["deadletter"], "source_offset", 80, 60)
            assert len(offsets) == 80 and None not in offsets
        finally:
            again.terminate()
            try:
                again.wait(timeout=20)
            except subprocess.TimeoutExpired:
                again.kill()
