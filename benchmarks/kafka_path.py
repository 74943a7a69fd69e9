"""End-to-end latency on the Kafka path at fixed offered loads.

For each rate: fresh topics, the flow as its own process (`riskflow run`), a
producer offering the simulated bank at exactly that rate, and a consumer on
`risk.decisions`. Latency is measured end to end, from the moment the producer
hands an event to librdkafka to the moment its decision is consumed, so it
includes both Kafka hops; the flow's own `latency_ms` is reported beside it.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import yaml
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from riskflow.connectors.kafka_client import ClientSection, client_config
from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate

__all__ = ["bench_kafka"]


class _DecisionView(msgspec.Struct):
    event_id: str
    latency_ms: float


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    return data[min(len(data) - 1, round(q / 100 * (len(data) - 1)))]


def _create_topics(
    bootstrap: str, names: list[str], client: ClientSection | None, partitions: int = 3
) -> None:
    admin = AdminClient(client_config(bootstrap, client))
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    for f in futures.values():
        f.result(timeout=30)


def _collect(
    bootstrap: str, client: ClientSection | None, topic: str, group: str, stop: Any, out: Any
) -> None:
    """Receive decisions in a process of its own, so measuring does not delay what it measures."""
    consumer = Consumer(
        client_config(
            bootstrap,
            client,
            {"group.id": group, "auto.offset.reset": "earliest", "fetch.wait.max.ms": "5"},
        )
    )
    consumer.subscribe([topic])
    received: list[tuple[bytes, float]] = []
    while not stop.is_set():
        # A short timeout: a long one would add its own wait to every measurement.
        for msg in consumer.consume(1000, 0.002):
            value = msg.value()
            if msg.error() is None and value is not None:
                received.append((value, time.time()))
    consumer.close()
    out.put(received)


def _one_rate(
    bootstrap: str,
    rate: float,
    seconds: float,
    customers: int,
    client: ClientSection | None,
    passthrough: bool = False,
) -> dict[str, Any]:
    tag = f"bench-{int(rate)}-{uuid.uuid4().hex[:6]}"
    names = ("payments", "logins", "feedback", "decisions", "alerts", "deadletter")
    topics = {k: f"{tag}.{k}" for k in names}
    _create_topics(bootstrap, list(topics.values()), client)
    sent: dict[str, float] = {}
    ctx = multiprocessing.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    collector = ctx.Process(
        target=_collect,
        args=(bootstrap, client, topics["decisions"], tag, stop, results),
        daemon=True,
    )
    collector.start()
    warm_consumer = Consumer(
        client_config(
            bootstrap, client, {"group.id": tag + "-warm", "auto.offset.reset": "earliest"}
        )
    )
    warm_consumer.subscribe([topics["decisions"]])

    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "flow.log", "wb") as flow_log:
        config = Path(tmp) / "bench.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "input": {"type": "kafka"},
                    "output": {"type": "kafka"},
                    "kafka": {
                        "bootstrap_servers": bootstrap,
                        "topics": topics,
                        "client": dict(client or {}),
                    },
                    "metrics": {"enabled": False},
                }
            )
        )
        env = {
            k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
        }
        command = (
            ["-m", "riskflow.benchmarks.passthrough", str(config)]
            if passthrough
            else ["-m", "riskflow", "run", "--config", str(config)]
        )
        flow = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=flow_log,
        )
        producer = Producer(client_config(bootstrap, client, {"linger.ms": "1"}))
        topic_of = {
            "payment": topics["payments"],
            "login": topics["logins"],
            "feedback": topics["feedback"],
        }
        get_id = msgspec.json.Decoder(_IdView).decode
        try:
            # Warm up until the flow answers, so start-up is not counted as latency.
            stream = generate(SimConfig(seed=11, customers=customers, days=3650.0))
            deadline = time.time() + 60
            answered = False
            while not answered and time.time() < deadline:
                rec = next(stream)
                producer.produce(topic_of[rec.kind], rec.payload, rec.key.encode())
                producer.flush()
                answered = bool(warm_consumer.consume(10, 0.3))
            warm_consumer.close()
            if not answered:
                raise RuntimeError("the flow produced no decision within 60 s; see its log")
            time.sleep(1.0)  # let the warm-up settle before measuring
            offered = scored = 0
            start = time.perf_counter()
            for rec in stream:
                pause = start + offered / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                if rec.kind != "feedback":
                    try:
                        sent[get_id(rec.payload).event_id] = time.time()
                        scored += 1
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        pass
                producer.produce(topic_of[rec.kind], rec.payload, rec.key.encode())
                producer.poll(0)
                offered += 1
                if time.perf_counter() - start >= seconds:
                    break
            producer.flush()
            achieved = offered / (time.perf_counter() - start)
            time.sleep(3.0)  # the last decisions in flight
        finally:
            # The flow first: whatever fails below must not leave it running.
            flow.terminate()
            flow.wait(timeout=30)
            stop.set()
            received = results.get(timeout=60)
            collector.join(timeout=30)

    decode = msgspec.json.Decoder(_DecisionView).decode
    e2e: list[float] = []
    flow_ms: list[float] = []
    for value, at in received:
        d = decode(value)
        started = sent.get(d.event_id)
        if started is not None:
            e2e.append((at - started) * 1000.0)
            flow_ms.append(d.latency_ms)
    return {
        "benchmark": "kafka",
        "flow": "passthrough" if passthrough else "riskflow",
        "offered_rate": rate,
        "achieved_rate": round(achieved),
        "seconds": seconds,
        "scored_events": scored,
        "decisions_received": len(e2e),
        "e2e_p50_ms": round(_percentile(e2e, 50), 2),
        "e2e_p99_ms": round(_percentile(e2e, 99), 2),
        "e2e_max_ms": round(max(e2e, default=float("nan")), 2),
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
    client: ClientSection | None = None,
    baseline: bool = False,
) -> list[dict[str, Any]]:
    """`client` is the `kafka.client` section, given as is to the flow it starts.

    `baseline`: at each rate the pass-through flow (`benchmarks/passthrough.py`: the same
    Kafka source and sink, no features, rules or models) is measured first, and riskflow's
    row carries its p50 and p99 as multiples of the pass-through's.
    """
    rows: list[dict[str, Any]] = []
    for rate in rates:
        floor = _one_rate(bootstrap, rate, seconds, customers, client, True) if baseline else None
        row = _one_rate(bootstrap, rate, seconds, customers, client)
        if floor is not None:
            rows.append(floor)
            for q in ("e2e_p50_ms", "e2e_p99_ms"):
                base = floor[q]
                row[f"{q[:-3]}_vs_passthrough"] = round(row[q] / base, 1) if base > 0 else None
        rows.append(row)
    return rows
