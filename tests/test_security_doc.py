"""docs/security.md matches the code: every config example in it loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from riskflow.contract.masking import mask_id
from riskflow.flows.config import load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_five_examples():
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("example", EXAMPLES, ids=["kafka", "redis", "models", "dead", "audit"])
def test_each_config_example_loads_as_written(tmp_path, monkeypatch, example):
    monkeypatch.setenv("RISKFLOW_KAFKA_PASSWORD", "from-the-environment")
    path = tmp_path / "c.yaml"
    # Each example is a section; the models one needs the redis one beside it.
    path.write_text(example + ("" if "redis:" in example else EXAMPLES[1]))
    settings = load_settings(path, env={})
    assert settings.redis is not None and settings.redis.url.startswith("rediss://")
    if "kafka:" in example:
        assert settings.kafka.client["security.protocol"] == "SASL_SSL"
        assert settings.kafka.client_config()["sasl.password"] == "from-the-environment"
    if "models:" in example:
        assert settings.models.backend == "redis"
        assert settings.models.signing_key_env == "RISKFLOW_SNAPSHOT_KEY"
    if "deadletters:" in example:
        assert settings.deadletters.payload_bytes == 1024
        assert settings.deadletters.raw_payload is False
    if "audit:" in example:
        assert settings.audit.path == "/var/log/riskflow/audit.jsonl"
        assert settings.audit.actor == "risk-engine-prod"


def test_the_masked_forms_the_page_shows_are_the_code_s():
    text = DOC.read_text(encoding="utf-8")
    for clear, masked in re.findall(r"`([^`*]+)` → `([^`]+)`", text):
        assert mask_id(clear) == masked
