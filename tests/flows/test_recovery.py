"""Killed mid-stream and restarted: nothing lost, nothing double counted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.flows.streams import payment
from tests.infra.kafka import consume_all, flow_topics, produce

pytestmark = pytest.mark.integration

EVENTS = 400


def start_flow(config: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    with open(log, "ab") as out:
        # The child keeps its own copy of the descriptor.
        return subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def test_sigkill_and_restart_loses_nothing_and_replays_identically(
    tmp_path, kafka_bootstrap, redis_url, redis_client
):
    prefix = f"rec-{uuid.uuid4().hex[:8]}"
    topics = flow_topics(kafka_bootstrap, prefix, partitions=2)
    config = tmp_path / "riskflow.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": {"bootstrap_servers": kafka_bootstrap, "topics": topics},
                "redis": {"url": redis_url, "key_prefix": "rec"},
                "metrics": {"enabled": False},
                "recovery": {"directory": str(tmp_path / "recovery"), "snapshot_interval_s": 0.5},
            }
        )
    )
    rows = [
        payment(f"P{i:04d}", f"A{i % 4}", i * 0.1, 10.0 + i, payee_account=f"B{i % 7}")
        for i in range(EVENTS)
    ]
    log = tmp_path / "flow.log"
    flow = start_flow(config, log)
    try:
        half = [(r["account_id"].encode(), json.dumps(r).encode()) for r in rows[: EVENTS // 2]]
        produce(kafka_bootstrap, topics["payments"], half)
        got = consume_all(kafka_bootstrap, topics["decisions"], expected=EVENTS // 2, timeout=90)
        assert len(got) == EVENTS // 2, log.read_text()[-3000:]
        time.sleep(1.5)  # let at least one epoch close after the first half
        flow.send_signal(signal.SIGKILL)
        flow.wait(timeout=10)

        rest = [(r["account_id"].encode(), json.dumps(r).encode()) for r in rows[EVENTS // 2 :]]
        produce(kafka_bootstrap, topics["payments"], rest)
        flow = start_flow(config, log)
        messages = consume_all(kafka_bootstrap, topics["decisions"], expected=EVENTS, timeout=90)
        time.sleep(2)
        messages = consume_all(
            kafka_bootstrap, topics["decisions"], expected=10 * EVENTS, timeout=3
        )
    finally:
        flow.terminate()
        flow.wait(timeout=20)

    decisions: dict[str, list[dict]] = {}
    for m in messages:
        d = json.loads(m.value())
        decisions.setdefault(d["event_id"], []).append(d)
    assert set(decisions) == {r["event_id"] for r in rows}, "an event was lost"
    for copies in decisions.values():
        stable = {(c["action"], c["score"], json.dumps(c["reasons"])) for c in copies}
        assert len(stable) == 1, "a replayed decision differs from the original"

    # Account A0 paid EVENTS/4 times within the day: exactly that many, none counted twice.
    features = json.loads(redis_client.hget("rec:account:A0", "features"))
    assert features["pay_count_24h"] == EVENTS // 4
    assert features["payment_history_count"] == EVENTS // 4 - 1
