"""Redis down: the sink keeps the latest record per account, counts failures, and catches up."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime

import pytest
import redis

from riskflow.connectors.metrics import REDIS_WRITE_FAILURES
from riskflow.connectors.redis_store import RedisSink
from riskflow.flows.config import RedisSettings
from tests.infra.verdicts import allowed

MARCH_1 = datetime(2026, 3, 1, tzinfo=UTC)

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_writes_survive_an_outage_and_land_as_absolute_values():
    port = free_port()
    sink = RedisSink(RedisSettings(url=f"redis://127.0.0.1:{port}/0", key_prefix="out"))
    part = sink.build("redis_out", 0, 1)
    failures = REDIS_WRITE_FAILURES._value.get()

    part.write_batch([allowed("A1", "P1", MARCH_1, 10.0), allowed("A2", "P2", MARCH_1, 20.0)])
    part.write_batch(
        [allowed("A1", "P3", MARCH_1, 30.0)]
    )  # within the backoff: buffered, not retried
    assert REDIS_WRITE_FAILURES._value.get() == failures + 1

    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        time.sleep(0.3)  # past the first backoff
        part.write_batch([allowed("A3", "P4", MARCH_1, 40.0)])
        assert client.hget("out:account:A1", "features") == b'{"amount":30.0}'
        assert b'"event_id":"P3"' in client.hget("out:account:A1", "decision")
        assert client.hget("out:account:A2", "features") == b'{"amount":20.0}'
        assert client.exists("out:account:A3")
        # A replay writes the same absolute value: no drift.
        part.write_batch([allowed("A1", "P3", MARCH_1, 30.0)])
        assert client.hget("out:account:A1", "features") == b'{"amount":30.0}'
        part.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
