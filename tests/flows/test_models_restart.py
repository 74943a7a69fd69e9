"""A restarted flow resumes from the newest model snapshot in Redis."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import redis
from bytewax.testing import run_main

from riskflow.connectors.models_redis import RedisModelStore
from riskflow.connectors.redis_store import RedisSettings
from riskflow.flows.config import FileInput, FileOutput, MetricsSettings, ModelsSettings, Settings
from riskflow.flows.risk import build_flow
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl
from tests.infra.snapshot_keys import KEY, KEY_ENV, SIGNER

pytestmark = pytest.mark.integration


def split(src: Path, dst: Path, cut: float, first: bool) -> Path:
    keep = []
    with open(src, encoding="utf-8") as fh:
        for line in fh:
            try:
                at = datetime.fromisoformat(json.loads(line)["ts"]).timestamp()
            except (ValueError, KeyError):
                continue
            if (at <= cut) == first:
                keep.append(line)
    dst.write_text("".join(keep), encoding="utf-8")
    return dst


def run(tmp: Path, files: dict[str, Path], name: str, redis_url: str, prefix: str) -> list[dict]:
    settings = Settings(
        input=FileInput(
            payments=str(files["payments"]),
            logins=str(files["logins"]),
            feedback=str(files["feedback"]),
        ),
        output=FileOutput(directory=str(tmp / name)),
        redis=RedisSettings(url=redis_url, key_prefix=prefix),
        models=ModelsSettings(backend="redis", every_labels=25, signing_key_env=KEY_ENV),
        metrics=MetricsSettings(enabled=False),
    )
    run_main(build_flow(settings))
    with open(tmp / name / "decisions.jsonl", encoding="utf-8") as fh:
        decisions = sorted(map(json.loads, fh), key=lambda d: d["event_ts"])
    return [d for d in decisions if d["event_type"] == "payment"]


def test_the_second_run_starts_where_the_first_left_off(tmp_path, redis_url, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    bank = tmp_path / "bank"
    write_jsonl(
        SimConfig(seed=31, customers=1500, days=4, events_per_customer_day=6.0, fraud_rate=0.03),
        bank,
    )
    cut = datetime.fromisoformat("2026-03-03T00:00:00+08:00").timestamp()
    halves = {
        half: {
            kind: split(bank / f"{kind}.jsonl", tmp_path / f"{half}-{kind}.jsonl", cut, half == "a")
            for kind in ("payments", "logins", "feedback")
        }
        for half in ("a", "b")
    }
    prefix = f"rs{uuid.uuid4().hex[:6]}"
    first = run(tmp_path, halves["a"], "first", redis_url, prefix)
    store = RedisModelStore(redis.Redis.from_url(redis_url), prefix, signer=SIGNER)
    newest = store.newest("champion")
    assert newest is not None and first[-1]["model_version"].startswith("champion-")

    second = run(tmp_path, halves["b"], "second", redis_url, prefix)
    # No cold start: the first decision after the restart already uses the stored model.
    assert second[0]["model_version"] != "rules-only"
    assert int(second[0]["model_version"].split("-")[1]) >= int(newest[0].split("-")[1])
