"""The simulated bank on Kafka: its stream produced at a target rate, and its branch staff."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
from confluent_kafka import Consumer, Producer

from riskflow.connectors.kafka_client import client_config
from riskflow.contract import topics as default_topics
from riskflow.simulator.bank import Bank
from riskflow.simulator.config import SimConfig
from riskflow.simulator.desk import BranchDesk, fraud_event_ids
from riskflow.simulator.stream import generate

__all__ = ["produce", "run_desk"]


def produce(
    config: SimConfig,
    bootstrap: str,
    *,
    rate: float | None,
    topics: dict[str, str] | None = None,
    client: Mapping[str, Any] | None = None,
) -> int:
    """Publish the stream (key = account id); `rate` in messages/s, None = as fast as possible.

    `client` is the `kafka.client` section of a secured cluster."""
    names = {
        "payment": default_topics.PAYMENTS,
        "login": default_topics.LOGINS,
        "feedback": default_topics.FEEDBACK,
    } | (topics or {})
    producer = Producer(client_config(bootstrap, client, {"linger.ms": 5}))
    started = time.perf_counter()
    sent = 0
    for record in generate(config):
        if rate:
            # Pace against the start, not the previous message, so jitter does not accumulate.
            pause = started + sent / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        while True:
            try:
                producer.produce(names[record.kind], record.payload, record.key.encode())
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain
        producer.poll(0)
        sent += 1
    producer.flush(60)
    return sent


def run_desk(
    config: SimConfig,
    bootstrap: str,
    *,
    capacity_per_day: int = 20,
    topics: dict[str, str] | None = None,
    idle_exit_s: float | None = None,
    client: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Branch staff for the simulated bank: alerted decisions in, their reviews out as labels.

    Reads `risk.decisions` (a review or block is an alert to the account's home
    branch), writes `risk.feedback` once each review's time has come in event
    time. Runs until interrupted, or until nothing arrives for `idle_exit_s`;
    reviews still in progress are published on the way out.
    """
    names = {"decisions": default_topics.DECISIONS, "feedback": default_topics.FEEDBACK} | (
        topics or {}
    )
    bank = Bank(config)
    desk = BranchDesk(fraud_event_ids(config), capacity_per_day=capacity_per_day, seed=config.seed)
    consumer = Consumer(
        client_config(
            bootstrap,
            client,
            {
                "group.id": "riskflow-branch-desk",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
            },
        )
    )
    consumer.subscribe([names["decisions"]])
    producer = Producer(client_config(bootstrap, client, {"linger.ms": 5}))
    counts = {"alerts": 0, "reviewed": 0, "open": 0, "labels": 0}
    clock = float("-inf")
    last_message = time.monotonic()

    def publish(labels: list[dict[str, object]]) -> None:
        for body in labels:
            producer.produce(
                names["feedback"], msgspec.json.encode(body), str(body["account_id"]).encode()
            )
        counts["labels"] += len(labels)
        producer.poll(0)

    try:
        while idle_exit_s is None or time.monotonic() - last_message < idle_exit_s:
            batch = consumer.consume(500, timeout=0.5)
            for msg in batch:
                if msg.error() is not None:
                    continue
                last_message = time.monotonic()
                try:
                    decision = _decision(msg.value() or b"")
                except msgspec.DecodeError:
                    continue  # not a decision: not the desk's business
                event_ts = decision.event_ts.timestamp()
                clock = max(clock, event_ts)
                if decision.action not in ("review", "block"):
                    continue
                index = _account_index(decision.account_id, bank.size)
                if index is None:
                    continue
                counts["alerts"] += 1
                branch = bank.customer(index).branch_id
                if desk.alerted(decision.event_id, decision.account_id, branch, event_ts):
                    counts["reviewed"] += 1
                else:
                    counts["open"] += 1
            publish(desk.due(clock))
    except KeyboardInterrupt:
        pass
    finally:
        publish(desk.due(float("inf")))
        producer.flush(30)
        consumer.close()
    return counts


class _Decision(msgspec.Struct):
    event_id: str
    account_id: str
    event_ts: datetime
    action: str


_decision = msgspec.json.Decoder(_Decision).decode


def _account_index(account_id: str, size: int) -> int | None:
    """The simulated customer behind `A0001234`, if it is one of this bank's."""
    if not account_id.startswith("A") or not account_id[1:].isdigit():
        return None
    index = int(account_id[1:])
    return index if index < size else None
