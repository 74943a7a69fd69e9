"""Model snapshots and the feature log in a real redis-server."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from typer.testing import CliRunner

from riskflow.cli import app
from riskflow.connectors.audit import RedisAudit
from riskflow.connectors.models_redis import RedisFeatureLog, RedisModelStore
from riskflow.contract.messages import Feedback
from riskflow.scoring.models.featurelog import LoggedEvent, decode, encode
from riskflow.scoring.models.holder import ModelHolder
from riskflow.scoring.models.learning import Learner, LearnerConfig
from tests.infra.snapshot_keys import KEY, KEY_ENV, SIGNER

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def prefix() -> str:
    return f"m{uuid.uuid4().hex[:6]}"


def feed(learner: Learner, log: RedisFeatureLog, n: int, start: int = 0) -> None:
    rng = random.Random(start)
    labels = []
    for i in range(start, start + n):
        fraud = rng.random() < 0.25
        at = T0 + timedelta(minutes=i)
        x = {"amount": rng.gauss(8 if fraud else 5, 1)}
        log.put_many([(f"E{i}", encode(LoggedEvent("payment", at.timestamp(), "A", x, 0.0, 0.0)))])
        labels.append(
            Feedback(
                event_id=f"E{i}",
                account_id="A",
                label="fraud" if fraud else "legit",
                ts=at + timedelta(hours=1),
            )
        )
    learner.on_batch(labels)


def test_feature_log_keeps_records_with_a_ttl(redis_client, prefix):
    log = RedisFeatureLog(redis_client, prefix, ttl_s=3600)
    record = LoggedEvent("login", 1.0, "A1", {"x": 1.0}, 0.2, 0.1)
    log.put_many([("E1", encode(record))])
    assert [decode(b) if b else None for b in log.get_many(["E1", "E2"])] == [record, None]
    assert 0 < redis_client.ttl(f"{prefix}:featurelog:E1") <= 3600


def test_a_restarted_flow_resumes_the_newest_snapshot_and_refuses_tampered_ones(
    redis_client, prefix
):
    store, log = (
        RedisModelStore(redis_client, prefix, keep=3, signer=SIGNER),
        RedisFeatureLog(redis_client, prefix),
    )
    cfg = LearnerConfig(every_labels=50, every_s=1e9)
    feed(Learner(store, log, cfg), log, 260)
    assert [s.version for s in store.since("champion", -1.0)] == [
        "champion-150",
        "champion-200",
        "champion-250",
    ]  # older ones trimmed
    assert Learner(store, log, cfg).state.champion.version == "champion-250"
    holder = ModelHolder(store, check_interval_s=0.0)
    assert holder.for_event(1e12).version == "champion-250"

    key = f"{prefix}:models:champion:snap:champion-250"
    redis_client.hset(key, "blob", redis_client.hget(key, "blob")[:-3] + b"bad")
    fresh = ModelHolder(store, check_interval_s=0.0)
    assert fresh.for_event(1e12).version == "champion-200"  # the tampered one never loads


def test_promote_and_show_commands(redis_client, redis_url, prefix, tmp_path):
    store, log = (
        RedisModelStore(redis_client, prefix, signer=SIGNER),
        RedisFeatureLog(redis_client, prefix),
    )
    learner = Learner(store, log, LearnerConfig(every_labels=60, every_s=1e9))
    feed(learner, log, 120)
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "redis": {"url": redis_url, "key_prefix": prefix},
                "models": {"backend": "redis", "signing_key_env": KEY_ENV},
            }
        )
    )
    runner = CliRunner(env={KEY_ENV: KEY})
    shown = runner.invoke(app, ["models", "show", "--config", str(config)])
    assert shown.exit_code == 0 and "challenger-120" in shown.output
    before = store.newest("champion")[0]
    promoted = runner.invoke(
        app, ["models", "promote", "--config", str(config), "--by", "mrm-7", "--why", "better AUC"]
    )
    assert promoted.exit_code == 0, promoted.output
    assert store.newest("champion")[0] == "champion-120.from-challenger-120"
    # Who promoted what over what, when, in the audit stream next to the lists' own.
    (record,) = RedisAudit(redis_client, prefix).records()
    assert record["op"] == "model_promoted" and record["actor"] == "mrm-7"
    assert record["version"] == "champion-120.from-challenger-120"
    assert (record["source"], record["previous"]) == ("challenger-120", before)
    assert record["why"] == "better AUC" and len(record["sha256"]) == 64 and record["at"]
    shown = runner.invoke(app, ["models", "audit", "--config", str(config)])
    assert shown.exit_code == 0 and "model_promoted" in shown.output and "mrm-7" in shown.output
    # Workers swap to it, and the learner keeps training the promoted model.
    assert (
        ModelHolder(store, check_interval_s=0.0)
        .for_event(1e12)
        .version.endswith("from-challenger-120")
    )
    feed(learner, log, 60, start=120)
    assert store.newest("champion")[0] == "champion-180.from-challenger-120"
