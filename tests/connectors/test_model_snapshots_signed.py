"""Whoever can write Redis cannot make a worker load their model, nor run their code."""

from __future__ import annotations

import hashlib
import logging
import uuid

import msgspec
import pytest
import yaml
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from riskflow.cli import app
from riskflow.connectors.models_redis import RedisFeatureLog, RedisModelStore
from riskflow.scoring.models.bundle import ModelBundle
from riskflow.scoring.models.holder import ModelHolder
from riskflow.scoring.models.learning import Learner, LearnerConfig
from riskflow.scoring.models.signing import SnapshotSigner
from tests.connectors.test_models_redis import feed
from tests.infra.pickle_marker import marker_pickle
from tests.infra.snapshot_keys import KEY, KEY_ENV, OTHER_KEY, OTHER_SIGNER, SIGNER

pytestmark = pytest.mark.integration

X = {"amount": 7.5}


@pytest.fixture
def prefix() -> str:
    return f"s{uuid.uuid4().hex[:6]}"


def refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("riskflow_model_snapshots_refused_total", {"reason": reason})
    return value or 0.0


def trained(redis_client, prefix: str) -> tuple[RedisModelStore, ModelHolder, float | None]:
    """A store with a good champion, and a worker scoring with it."""
    store, log = (
        RedisModelStore(redis_client, prefix, signer=SIGNER),
        RedisFeatureLog(redis_client, prefix),
    )
    feed(Learner(store, log, LearnerConfig(every_labels=100, every_s=1e9)), log, 300)
    holder = ModelHolder(store, check_interval_s=0.0)
    bundle = holder.for_event(1e12)
    assert bundle is not None and bundle.version == "champion-300"
    return store, holder, bundle.predict("payment", X, 0.5, [], 0.01)


def plant(redis_client, prefix: str, version: str, as_of: float, fields: dict) -> None:
    redis_client.hset(f"{prefix}:models:champion:snap:{version}", mapping=fields)
    redis_client.zadd(f"{prefix}:models:champion:index", {version: as_of})


def test_a_pickle_with_a_correct_sha256_is_refused_and_never_unpickled(
    redis_client, prefix, tmp_path, caplog
):
    store, holder, before = trained(redis_client, prefix)
    marker = tmp_path / "code-ran"
    payload = marker_pickle(marker)
    # What the previous store format trusted: the blob and its sha256 beside it.
    fields = {"blob": payload, "checksum": hashlib.sha256(payload).hexdigest(), "as_of": 2e12}
    plant(redis_client, prefix, "champion-9999", 2e12, fields)
    unsigned = refused("unsigned")
    with caplog.at_level(logging.ERROR):
        bundle = holder.for_event(3e12)
    assert not marker.exists()
    assert refused("unsigned") == unsigned + 1
    (line,) = [
        r.getMessage() for r in caplog.records if "refusing model snapshot" in r.getMessage()
    ]
    assert "\n" not in line and "champion-9999" in line and "unsigned" in line
    assert str(marker) not in line and len(line) < 200  # no payload
    # The model in hand keeps scoring, unchanged.
    assert bundle is not None and bundle.version == "champion-300"
    assert bundle.predict("payment", X, 0.5, [], 0.01) == before
    # Read again by the next worker or check, it is not reported again.
    ModelHolder(store, check_interval_s=0.0).for_event(3e12)
    assert refused("unsigned") == unsigned + 1

    # Even signed with the real key, pickle bytes are only ever decoded as data.
    signed = {"blob": payload, "sig": SIGNER.sign(payload), "as_of": repr(2.5e12)}
    plant(redis_client, prefix, "champion-99999", 2.5e12, signed)
    malformed = refused("malformed")
    assert holder.for_event(3e12).version == "champion-300"
    assert not marker.exists()
    assert refused("malformed") == malformed + 1


def test_a_snapshot_signed_with_another_key_is_refused(redis_client, prefix):
    store, holder, _ = trained(redis_client, prefix)
    forged = ModelBundle(name="champion", received=5000)
    forged.as_of = 2e12
    snap = forged.to_snapshot()
    assert snap.blob is not None
    planted = {"blob": snap.blob, "sig": OTHER_SIGNER.sign(snap.blob), "as_of": repr(snap.as_of)}
    plant(redis_client, prefix, snap.version, snap.as_of, planted)
    bad = refused("bad_signature")
    assert holder.for_event(3e12).version == "champion-300"
    assert refused("bad_signature") == bad + 1
    # A restarted learner resumes the good model, not the forgery.
    resumed = Learner(store, RedisFeatureLog(redis_client, prefix), LearnerConfig())
    assert resumed.state.champion.version == "champion-300"


def test_a_good_snapshot_round_trips_through_redis_to_identical_scores(redis_client, prefix):
    _, _, before = trained(redis_client, prefix)
    other_worker = ModelHolder(
        RedisModelStore(redis_client, prefix, signer=SIGNER), check_interval_s=0.0
    )
    bundle = other_worker.for_event(1e12)
    assert bundle is not None and bundle.predict("payment", X, 0.5, [], 0.01) == before
    # Rotation: a store that verifies with the old key too still loads it.
    rotated = SnapshotSigner([OTHER_KEY.encode(), KEY.encode()])
    during = ModelHolder(RedisModelStore(redis_client, prefix, signer=rotated), check_interval_s=0)
    assert during.for_event(1e12).version == "champion-300"


def test_a_learner_is_not_stopped_by_a_planted_newest_champion(redis_client, prefix):
    store, log = (
        RedisModelStore(redis_client, prefix, signer=SIGNER),
        RedisFeatureLog(redis_client, prefix),
    )
    learner = Learner(store, log, LearnerConfig(every_labels=100, every_s=1e9))
    feed(learner, log, 200)
    worker = ModelHolder(RedisModelStore(redis_client, prefix, signer=SIGNER), check_interval_s=0)
    assert worker.for_event(1e13).version == "champion-200"
    plant(redis_client, prefix, "champion-777", 2e12, {"blob": b"x", "sig": "00", "as_of": 2e12})
    assert worker.for_event(1e13).version == "champion-200"
    feed(learner, log, 100, start=200)  # would adopt it as a promotion, were it trusted
    assert learner.state.champion.version == "champion-300"
    # The planted entry, newest by its time, does not stop workers finding newer models.
    assert worker.for_event(1e13).version == "champion-300"


def test_a_forest_is_never_published_to_redis(redis_client, prefix):
    store = RedisModelStore(redis_client, prefix, signer=SIGNER)
    before = refused("not_shareable")
    store.publish("champion", ModelBundle(recipe="arf").to_snapshot())
    assert store.newest("champion") is None
    assert redis_client.keys(f"{prefix}:models:*") == []
    assert refused("not_shareable") == before + 1


def test_snapshot_fields_in_redis_are_data_and_a_signature():
    bundle = ModelBundle()
    blob = bundle.to_snapshot().blob
    assert blob is not None and msgspec.msgpack.decode(blob)["format"] == 1
    assert len(SIGNER.sign(blob)) == 64 and SIGNER.verify(blob, SIGNER.sign(blob))
    assert not OTHER_SIGNER.verify(blob, SIGNER.sign(blob))


def test_promote_refuses_a_challenger_signed_with_another_key(
    redis_client, redis_url, prefix, tmp_path
):
    forged = ModelBundle(name="challenger", received=10)
    snap = forged.to_snapshot()
    key = f"{prefix}:models:challenger"
    fields = {"blob": snap.blob, "sig": OTHER_SIGNER.sign(snap.blob), "as_of": repr(snap.as_of)}
    redis_client.hset(f"{key}:snap:{snap.version}", mapping=fields)
    redis_client.zadd(f"{key}:index", {snap.version: snap.as_of})
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "redis": {"url": redis_url, "key_prefix": prefix},
                "models": {"backend": "redis", "signing_key_env": KEY_ENV},
            }
        )
    )
    done = CliRunner(env={KEY_ENV: KEY}).invoke(app, ["models", "promote", "--config", str(config)])
    assert done.exit_code == 1
    assert "no challenger snapshot that verifies" in done.output
    assert RedisModelStore(redis_client, prefix, signer=SIGNER).newest("champion") is None
