"""A whole flow over rediss:// as the riskflow ACL user: the documented ACL is enough.

Redis writes the flow makes from its workers swallow errors to keep deciding (counted,
logged), so the flow finishing is not proof; the server's ACL log and riskflow's failure
counter are.
"""

from __future__ import annotations

import json
import uuid

import msgspec
import pytest
from bytewax.testing import run_main

from riskflow.connectors.metrics import REDIS_WRITE_FAILURES
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
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl
from tests.infra.snapshot_keys import KEY, KEY_ENV

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    where = tmp_path_factory.mktemp("bank")
    sim = SimConfig(seed=5, customers=400, days=3, events_per_customer_day=6.0, fraud_rate=0.05)
    write_jsonl(sim, where)
    return where


def settings_for(bank, out, secure_redis, **changes) -> Settings:
    return Settings(
        input=FileInput(
            payments=str(bank / "payments.jsonl"),
            logins=str(bank / "logins.jsonl"),
            feedback=str(bank / "feedback.jsonl"),
        ),
        output=FileOutput(directory=str(out)),
        redis=secure_redis,
        models=ModelsSettings(backend="redis", every_labels=25, signing_key_env=KEY_ENV),
        metrics=MetricsSettings(enabled=False),
    ).replace(**changes)


def refusals(admin) -> list[dict]:
    return [e for e in admin.acl_log(count=1000) if e.get("username") == "riskflow"]


def check_the_run(out, redis_tls) -> None:
    admin = redis_tls.admin
    with open(out / "decisions.jsonl", encoding="utf-8") as fh:
        decisions = [json.loads(line) for line in fh]
    assert decisions
    # Models learned, published and were scored with, all through the ACL user.
    assert admin.zcard("riskflow:models:champion:index") > 0
    assert any(d["model_version"].startswith("champion-") for d in decisions)
    assert admin.hget(f"riskflow:account:{decisions[-1]['account_id']}", "decision")
    assert admin.exists(f"riskflow:featurelog:{decisions[-1]['event_id']}")
    assert all(k.startswith(b"riskflow:") for k in admin.scan_iter(count=1000))
    assert refusals(admin) == []


def test_a_flow_with_redis_models_runs_on_the_documented_acl(
    tmp_path, bank, secure_redis, redis_tls, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, KEY)
    failures = REDIS_WRITE_FAILURES._value.get()
    redis_tls.admin.acl_log_reset()
    run_main(build_flow(settings_for(bank, tmp_path / "out", secure_redis)))
    assert REDIS_WRITE_FAILURES._value.get() == failures
    check_the_run(tmp_path / "out", redis_tls)


def test_with_the_shared_lists_in_redis_too(
    tmp_path, bank, secure_redis, redis_tls, kafka_bootstrap, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, KEY)
    redis_tls.admin.acl_log_reset()
    settings = settings_for(
        bank,
        tmp_path / "out",
        secure_redis,
        kafka=msgspec.structs.replace(KafkaSettings(), bootstrap_servers=kafka_bootstrap),
        lists=ListsSettings(backend="redis", topic=f"acl-{uuid.uuid4().hex[:8]}.lists"),
    )
    redis_tls.admin.delete("riskflow:lists:proposals")
    run_main(build_flow(settings))
    check_the_run(tmp_path / "out", redis_tls)
    # The simulated mules are named in confirmed frauds: proposed through the ACL user too.
    assert redis_tls.admin.hlen("riskflow:lists:proposals") > 0
