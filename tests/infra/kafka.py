"""A real Kafka broker for the tests, and small helpers to use it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from riskflow.connectors.kafka import ensure_topics
from riskflow.connectors.kafka_client import client_config

__all__ = ["consume_all", "kafka_broker", "new_topic", "produce", "start_script"]

# Each helper takes `client`, the `kafka.client` section of a secured cluster (None: plaintext).
Client = Mapping[str, Any] | None

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "kafka-local"


def start_script(workdir: Path, what: str, *flags: str) -> str:
    """`kafka-local start` into `workdir`; its stdout, or the log's tail when it fails."""
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", *flags, "--dir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if started.returncode != 0:
        log = workdir / "kafka.log"
        tail = log.read_text()[-4000:] if log.exists() else ""
        raise RuntimeError(f"{what} did not start:\n{started.stderr}\n{tail}")
    return started.stdout


@contextmanager
def kafka_broker(workdir: Path) -> Iterator[str]:
    """`KAFKA_BOOTSTRAP_SERVERS` if set, else a broker started for the session."""
    given = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if given:
        yield given
        return
    printed = start_script(workdir, "Kafka")
    bootstrap = printed.strip().rsplit("=", 1)[-1]
    try:
        wait_for_metadata(bootstrap)
        yield bootstrap
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", "--dir", str(workdir)], timeout=60)


def wait_for_metadata(bootstrap: str, timeout: float = 60.0, client: Client = None) -> None:
    admin = AdminClient(client_config(bootstrap, client))
    deadline = time.time() + timeout
    while True:
        try:
            if admin.list_topics(timeout=5).brokers:
                return
        except Exception:
            if time.time() > deadline:
                raise
        time.sleep(0.2)


def new_topic(bootstrap: str, name: str, partitions: int = 3, client: Client = None) -> str:
    """Create a topic and wait until its partitions have leaders."""
    ensure_topics(bootstrap, [name], partitions=partitions, replication_factor=1, client=client)
    return name


def flow_topics(bootstrap: str, prefix: str, partitions: int) -> dict[str, str]:
    """A flow's own topics, `{prefix}.payments` and so on, created; notifications the flow makes."""
    names = ("payments", "logins", "feedback", "decisions", "alerts", "deadletter")
    topics = {name: new_topic(bootstrap, f"{prefix}.{name}", partitions) for name in names}
    topics["notifications"] = f"{prefix}.notifications"
    return topics


def produce(
    bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]], client: Client = None
) -> None:
    producer = Producer(client_config(bootstrap, client, {"linger.ms": 5}))
    for key, value in messages:
        producer.produce(topic, value, key)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages were not delivered to {topic}"


def consume_all(
    bootstrap: str, topic: str, expected: int, timeout: float, client: Client = None
) -> list[Message]:
    """Read `topic` from the start with a fresh group until `expected` messages or `timeout`."""
    consumer = Consumer(
        client_config(
            bootstrap,
            client,
            {
                "group.id": f"test-{time.monotonic_ns()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([topic])
    out: list[Message] = []
    deadline = time.time() + timeout
    try:
        while len(out) < expected and time.time() < deadline:
            for msg in consumer.consume(500, 0.2):
                if msg.error() is None:
                    out.append(msg)
    finally:
        consumer.close()
    return out
