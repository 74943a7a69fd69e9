"""The test infrastructure itself is real: a Kafka broker and a redis-server that work."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.infra.kafka import consume_all, new_topic, produce

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_kafka_round_trip_keeps_keys_and_values(kafka_bootstrap):
    topic = new_topic(kafka_bootstrap, f"infra-{uuid.uuid4().hex[:8]}", partitions=3)
    sent = [(f"k{i % 7}".encode(), f"v{i}".encode()) for i in range(100)]
    produce(kafka_bootstrap, topic, sent)
    got = consume_all(kafka_bootstrap, topic, expected=100, timeout=30)
    assert sorted((m.key(), m.value()) for m in got) == sorted(sent)
    # Same key, same partition: the ordering guarantee the flow relies on.
    partitions: dict[bytes, set[int]] = {}
    for m in got:
        partitions.setdefault(m.key(), set()).add(m.partition())
    assert all(len(p) == 1 for p in partitions.values())


@pytest.mark.integration
def test_redis_round_trip_with_pipeline(redis_client):
    pipe = redis_client.pipeline(transaction=False)
    pipe.hset("h", mapping={"a": "1", "b": "2"})
    pipe.expire("h", 60)
    pipe.execute()
    assert redis_client.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert 0 < redis_client.ttl("h") <= 60


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_stack_parses():
    result = subprocess.run(
        ["docker-compose", "-f", str(REPO / "docker" / "compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
