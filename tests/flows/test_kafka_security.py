"""The flow, `riskflow lists` and the admin calls on a cluster that takes only SASL_SSL.

The broker (`scripts/kafka-local start --secure`) lets the riskflow principal read its
inbound topics, write its outputs and nothing else; the test writes the inbound side and
reads the outputs as the admin super-user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import yaml
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from riskflow.connectors.kafka_client import client_config
from riskflow.contract import topics
from riskflow.scoring.lists.entries import ListChange
from tests.flows.streams import payment
from tests.infra.kafka import consume_all, produce
from tests.infra.kafka_secure import SecureKafka

pytestmark = pytest.mark.integration

PASSWORD_ENV = "RISKFLOW_KAFKA_PASSWORD"


def write_config(tmp_path: Path, broker: SecureKafka, redis_url: str) -> Path:
    config = tmp_path / "riskflow.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "input": {"type": "kafka"},
                "output": {"type": "kafka"},
                "kafka": {
                    "bootstrap_servers": broker.bootstrap,
                    "client": broker.client(**{"sasl.password_env": PASSWORD_ENV}),
                    "connect_timeout_s": 20,
                },
                "redis": {"url": redis_url, "key_prefix": f"sec{uuid.uuid4().hex[:6]}"},
                # The lists follow their control topic: two more clients of the flow.
                "lists": {"backend": "redis"},
                "models": {"enabled": False},
                "metrics": {"enabled": False},
            }
        )
    )
    return config


def riskflow_env(password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    return env | {PASSWORD_ENV: password}


@pytest.fixture
def config(tmp_path, secure_kafka, redis_url) -> Path:
    return write_config(tmp_path, secure_kafka, redis_url)


@pytest.fixture
def flow(tmp_path, secure_kafka, config) -> Iterator[subprocess.Popen]:
    with open(tmp_path / "flow.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=riskflow_env(secure_kafka.password),
        )
        yield proc
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_flow_decides_every_payment_on_a_secured_cluster(secure_kafka, flow, tmp_path):
    run = uuid.uuid4().hex[:6]
    ids = [f"S{run}-{i}" for i in range(5)]
    rows = [payment(eid, f"A{i}", i, 50.0 + i) for i, eid in enumerate(ids)]
    admin = secure_kafka.admin()
    produce(
        secure_kafka.bootstrap,
        topics.PAYMENTS,
        [(r["account_id"].encode(), json.dumps(r).encode()) for r in rows],
        client=admin,
    )
    got = consume_all(secure_kafka.bootstrap, topics.DECISIONS, 5, timeout=120, client=admin)
    decided = [json.loads(m.value())["event_id"] for m in got]
    assert sorted(d for d in decided if d.startswith(f"S{run}-")) == ids, (
        tmp_path / "flow.log"
    ).read_text()[-3000:]
    assert flow.poll() is None, "the flow stopped"


def test_riskflow_lists_publishes_on_a_secured_cluster(secure_kafka, config):
    add = ["lists", "add", "deny", "payee", "SECMULE", "--reason", "mule"]
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", *add, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=riskflow_env(secure_kafka.password),
    )
    assert done.returncode == 0, done.stderr
    changes = [
        msgspec.json.decode(m.value(), type=ListChange)
        for m in consume_all(
            secure_kafka.bootstrap, topics.LISTS, 50, timeout=10, client=secure_kafka.admin()
        )
    ]
    added = [c.entry.value for c in changes if c.op == "add" and c.entry is not None]
    assert "SECMULE" in added


def test_the_flow_with_a_wrong_password_stops_in_one_line(secure_kafka, config):
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=riskflow_env("not-the-password"),
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    refused = [line for line in done.stderr.splitlines() if "refused" in line]
    assert refused == [
        line for line in done.stderr.splitlines() if not line.startswith("riskflow: note:")
    ]
    assert len(refused) == 1 and "SASL authentication" in refused[0]


def test_a_client_without_credentials_gets_no_metadata(secure_kafka):
    # Plaintext, and TLS on the right CA without a SASL login.
    for section in ({}, {"security.protocol": "SSL", "ssl.ca.location": secure_kafka.ca}):
        admin = AdminClient(client_config(secure_kafka.bootstrap, section, {"log_level": 0}))
        with pytest.raises(KafkaException):
            admin.list_topics(timeout=3)


def test_the_riskflow_principal_may_do_only_what_the_flow_needs(secure_kafka):
    admin = AdminClient(client_config(secure_kafka.bootstrap, secure_kafka.riskflow()))
    name = f"not-riskflows-{uuid.uuid4().hex[:6]}"
    with pytest.raises(KafkaException) as caught:
        admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=30)
    assert caught.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # It writes decisions but may not read them back.
    read = consume_all(
        secure_kafka.bootstrap, topics.DECISIONS, 1, timeout=5, client=secure_kafka.riskflow()
    )
    assert read == []


def inbound_total(broker: SecureKafka) -> int:
    consumer = Consumer(client_config(broker.bootstrap, broker.admin(), {"group.id": "count"}))
    total = 0
    for topic in topics.INBOUND:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        for p in meta.partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high
    consumer.close()
    return total


def test_the_simulator_produces_with_the_client_section_of_its_config(secure_kafka, tmp_path):
    # The simulator plays the bank's channels, which write the inbound topics: admin here.
    config = tmp_path / "simulator.yaml"
    password = tmp_path / "admin.password"
    password.write_text(secure_kafka.admin_password + "\n")
    section = secure_kafka.client("admin", **{"sasl.password_file": str(password)})
    config.write_text(yaml.safe_dump({"kafka": {"client": section}}))
    before = inbound_total(secure_kafka)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "riskflow",
            "simulate",
            "--kafka",
            secure_kafka.bootstrap,
            "--events",
            "30",
            "--customers",
            "50",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=riskflow_env(secure_kafka.password),
    )
    assert done.returncode == 0, done.stderr
    assert inbound_total(secure_kafka) - before >= 30


def test_riskflow_lists_with_a_wrong_password_stops_in_one_line(secure_kafka, config, tmp_path):
    rows = tmp_path / "lists.csv"
    rows.write_text("entity,value,reason,source\npayee,SECMULE2,mule,police\n")
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "lists", "import", str(rows), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=riskflow_env("not-the-password"),
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the login of kafka.client" in lines[0], done.stderr
