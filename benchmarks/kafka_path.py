"""End-to-end latency on the Kafka path at fixed offered loads.

For each rate: fresh topics, the flow as its own process (`riskflow run`), a
producer offering the simulated bank at exactly that rate, and a consumer on
`risk.decisions`. Latency is measured end to end, from the moment the producer
hands an event to librdkafka to the moment its decision is consumed, so it
includes both Kafka hops; the flow's own `latency_ms` is reported beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import yaml
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from simulator.config import SimConfig
from simulator.stream import generate

__all__ = ["bench_kafka"]


class _DecisionView(msgspec.Struct):
    event_id: str
    latency_ms: float


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    return data[min(len(data) - 1, round(q / 100 * (len(data) - 1)))]


def _create_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    for f in futures.values():
        f.result(timeout=30)


def _one_rate(bootstrap: str, rate: float, seconds: float, customers: int) -> dict[str, Any]:
    tag = f"bench-{int(rate)}-{uuid.uuid4().hex[:6]}"
    topics = {
        k: f"{tag}.{k}"
        for k in ("payments", "logins", "feedback", "decisions", "alerts", "deadletter")
    }
    _create_topics(bootstrap, list(topics.values()))
    sent: dict[str, float] = {}
    e2e: list[float] = []
    flow_ms: list[float] = []
    received = 0
    done = threading.Event()
    decode = msgspec.json.Decoder(_DecisionView).decode

    def consume() -> None:
        nonlocal received
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": tag,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": "5",
            }
        )
        consumer.subscribe([topics["decisions"]])
        while not done.is_set():
            for msg in consumer.consume(500, 0.05):
                value = msg.value()
                if msg.error() or value is None:
                    continue
                now = time.time()
                d = decode(value)
                received += 1
                started = sent.get(d.event_id)
                if started is not None:
                    e2e.append((now - started) * 1000.0)
                    flow_ms.append(d.latency_ms)
        consumer.close()

    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "flow.log", "wb") as flow_log:
        config = Path(tmp) / "bench.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "input": {"type": "kafka"},
                    "output": {"type": "kafka"},
                    "kafka": {"bootstrap_servers": bootstrap, "topics": topics},
                    "metrics": {"enabled": False},
                }
            )
        )
        env = {
            k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
        }
        flow = subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=flow_log,
        )
        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": "1"})
        topic_of = {
            "payment": topics["payments"],
            "login": topics["logins"],
            "feedback": topics["feedback"],
        }
        get_id = msgspec.json.Decoder(_IdView).decode
        try:
            # Warm up until the flow answers, so start-up is not counted as latency.
            warm_deadline = time.time() + 60
            stream = generate(SimConfig(seed=11, customers=customers, days=3650.0))
            while received == 0 and time.time() < warm_deadline:
                rec = next(stream)
                producer.produce(topic_of[rec.kind], rec.payload, rec.key.encode())
                producer.flush()
                time.sleep(0.2)
            if received == 0:
                raise RuntimeError("the flow produced no decision within 60 s; see its log")
            warm = received
            offered = 0
            scored = 0
            start = time.perf_counter()
            for rec in stream:
                due = start + offered / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                if rec.kind != "feedback":
                    try:
                        eid = get_id(rec.payload).event_id
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        eid = None
                    if eid is not None:
                        sent[eid] = time.time()
                        scored += 1
                producer.produce(topic_of[rec.kind], rec.payload, rec.key.encode())
                producer.poll(0)
                offered += 1
                if time.perf_counter() - start >= seconds:
                    break
            producer.flush()
            achieved = offered / (time.perf_counter() - start)
            deadline = time.time() + 30
            while received - warm < scored and time.time() < deadline:
                time.sleep(0.1)
        finally:
            done.set()
            reader.join()
            flow.terminate()
            flow.wait(timeout=30)
    return {
        "benchmark": "kafka",
        "offered_rate": rate,
        "achieved_rate": round(achieved),
        "seconds": seconds,
        "scored_events": scored,
        "decisions_received": received - warm,
        "e2e_p50_ms": round(_percentile(e2e, 50), 2),
        "e2e_p99_ms": round(_percentile(e2e, 99), 2),
        "flow_p50_ms": round(_percentile(flow_ms, 50), 3),
        "flow_p99_ms": round(_percentile(flow_ms, 99), 3),
    }


class _IdView(msgspec.Struct):
    event_id: str


def bench_kafka(
    bootstrap: str,
    rates: tuple[float, ...] = (500, 2000, 5000),
    seconds: float = 20.0,
    customers: int = 5000,
) -> list[dict[str, Any]]:
    return [_one_rate(bootstrap, rate, seconds, customers) for rate in rates]
