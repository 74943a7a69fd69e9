"""`riskflow run` against a broker that has none of its topics: created, or one clear line."""

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
from confluent_kafka.admin import AdminClient

from riskflow.connectors.kafka_client import client_config
from tests.flows.streams import payment
from tests.infra.kafka import consume_all, produce

pytestmark = pytest.mark.integration

_NAMES = ("payments", "logins", "feedback", "decisions", "alerts", "deadletter", "notifications")


def _config(tmp_path: Path, bootstrap: str, prefix: str, **kafka: object) -> Path:
    topics = {name: f"{prefix}.{name}" for name in _NAMES}
    path = tmp_path / "riskflow.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "kafka": {"bootstrap_servers": bootstrap, "topics": topics, **kafka},
                "models": {"enabled": False},
                "metrics": {"enabled": False},
            }
        )
    )
    return path


def _env() -> dict[str, str]:
    # The config names the broker; the test's own variables must not override it.
    skip = ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
    return {k: v for k, v in os.environ.items() if k not in skip}


def _partitions(bootstrap: str, names: list[str]) -> dict[str, int]:
    found = AdminClient(client_config(bootstrap)).list_topics(timeout=10).topics
    return {n: len(found[n].partitions) for n in names if n in found}


def test_missing_topics_are_created_and_the_flow_decides(tmp_path, kafka_bootstrap):
    prefix = f"fresh-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}.{n}" for n in _NAMES]
    assert _partitions(kafka_bootstrap, names) == {}
    config = _config(tmp_path, kafka_bootstrap, prefix, partitions=2)
    log = tmp_path / "flow.log"
    with open(log, "wb") as out:
        flow = subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
    try:
        deadline = time.time() + 60
        while len(_partitions(kafka_bootstrap, names)) < len(names) and time.time() < deadline:
            assert flow.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        assert _partitions(kafka_bootstrap, names) == dict.fromkeys(names, 2)
        row = payment("P-fresh", "A1", 0.0, 25.0)
        produce(kafka_bootstrap, f"{prefix}.payments", [(b"A1", json.dumps(row).encode())])
        decisions = consume_all(kafka_bootstrap, f"{prefix}.decisions", 1, timeout=60)
        assert [json.loads(m.value())["event_id"] for m in decisions] == ["P-fresh"]
    finally:
        flow.send_signal(signal.SIGTERM)
        code = flow.wait(timeout=60)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert f"created Kafka topic(s) {prefix}.payments" in text
    assert "Traceback" not in text


def test_with_creation_off_a_missing_topic_is_one_line_naming_it(tmp_path, kafka_bootstrap):
    prefix = f"absent-{uuid.uuid4().hex[:8]}"
    config = _config(tmp_path, kafka_bootstrap, prefix, create_topics=False)
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"Kafka has no topic {prefix}.payments, {prefix}.logins" in last
    assert "kafka.create_topics is false" in last
    assert _partitions(kafka_bootstrap, [f"{prefix}.{n}" for n in _NAMES]) == {}
