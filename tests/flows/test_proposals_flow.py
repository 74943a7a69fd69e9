"""The flow proposes list entries from the labels of a simulated bank, once however often
the same labels are replayed (real Redis; Kafka only for the lists' control topic)."""

from __future__ import annotations

import uuid

import msgspec
import pytest
import redis
from bytewax.testing import run_main

from riskflow.connectors.redis_client import RedisSettings
from riskflow.flows.config import (
    FileInput,
    FileOutput,
    KafkaSettings,
    ListsSettings,
    MetricsSettings,
    ModelsSettings,
    Settings,
)
from riskflow.flows.risk import build_flow
from riskflow.scoring.lists.proposals import Proposal
from riskflow.scoring.lists.proposer import ProposerConfig
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    where = tmp_path_factory.mktemp("bank")
    sim = SimConfig(seed=5, customers=400, days=3, events_per_customer_day=6.0, fraud_rate=0.05)
    write_jsonl(sim, where)
    return where


def test_replaying_the_same_labels_proposes_nothing_twice(
    tmp_path, bank, redis_url, kafka_bootstrap
):
    prefix = f"pf-{uuid.uuid4().hex[:8]}"
    cfg = ProposerConfig(entities=["payee", "terminal"])

    def run(name: str) -> None:
        settings = Settings(
            input=FileInput(
                payments=str(bank / "payments.jsonl"),
                logins=str(bank / "logins.jsonl"),
                feedback=str(bank / "feedback.jsonl"),
            ),
            output=FileOutput(directory=str(tmp_path / name)),
            redis=RedisSettings(url=redis_url, key_prefix=prefix),
            kafka=msgspec.structs.replace(KafkaSettings(), bootstrap_servers=kafka_bootstrap),
            lists=ListsSettings(backend="redis", topic=f"{prefix}.lists", proposals=cfg),
            models=ModelsSettings(every_labels=25),
            metrics=MetricsSettings(enabled=False),
        )
        run_main(build_flow(settings))

    client = redis.Redis.from_url(redis_url)
    run("first")
    held = {
        k.decode(): msgspec.json.decode(v, type=Proposal)
        for k, v in client.hgetall(f"{prefix}:lists:proposals").items()
    }
    assert held, "the simulated mules are named in several confirmed frauds"
    for p in held.values():
        assert p.status == "pending" and p.kind == "watch"
        assert p.evidence.frauds >= cfg.min_frauds and p.evidence.victims >= cfg.min_victims
        assert p.entity in ("payee", "terminal")
    # Pending is not listed.
    assert client.hlen(f"{prefix}:lists:entries") == 0

    run("again")  # the same labels once more, as after a restart without recovery
    assert set(client.hkeys(f"{prefix}:lists:proposals")) == {k.encode() for k in held}
    audit = client.xrange(f"{prefix}:lists:audit")
    proposed = [f[b"proposal"].decode() for _, f in audit if f[b"op"] == b"propose"]
    assert sorted(proposed) == sorted(held)
