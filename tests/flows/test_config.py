"""The flow's YAML config: the shipped files load, mistakes are refused early."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from riskflow.flows.config import load_settings
from riskflow.flows.risk import build_lists
from riskflow.scoring.lists.csvfile import FileLists

REPO = Path(__file__).resolve().parents[2]


def test_the_compose_config_loads_and_the_environment_points_it_elsewhere():
    settings = load_settings(
        REPO / "docker" / "riskflow.yaml",
        env={"KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9092", "REDIS_URL": "redis://r:6380/2"},
    )
    assert settings.lists.backend == "redis" and settings.lists.topic == "risk.lists"
    assert settings.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.redis is not None and settings.redis.url == "redis://r:6380/2"
    assert settings.kafka.topics.notifications == "risk.notifications"


def test_limits_and_notifications_are_configurable(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "limits:\n"
        "  methods: {password: {per_txn: 100, daily: 200}}\n"
        "notifications: {large_transfer: 1000, new_device_login: false}\n"
    )
    settings = load_settings(path, env={})
    assert settings.limits.limit("password", "online").per_txn == 100
    assert settings.limits.limit("token", "online").per_txn == 200_000  # defaults kept
    assert settings.notifications.large_transfer == 1000
    assert settings.notifications.new_device_login is False


@pytest.mark.parametrize(
    "text",
    [
        "lists: {deny_path: x.csv}\n",  # the foundation's key, replaced by lists.path
        "lists: {backend: postgres}\n",
        "limits: {methods: {retina: {per_txn: 1, daily: 2}}}\n",
    ],
)
def test_mistakes_are_refused_when_loading(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises((msgspec.ValidationError, ValueError)):
        load_settings(path, env={})


def test_lists_backend_choice(tmp_path):
    assert isinstance(build_lists(load_settings(None, env={})), FileLists)
    path = tmp_path / "c.yaml"
    path.write_text("lists: {backend: redis}\n")
    with pytest.raises(ValueError, match="redis"):
        build_lists(load_settings(path, env={}))


def test_the_documented_defaults_are_a_valid_config_equal_to_the_defaults(tmp_path):
    text = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "documented.yaml"
    path.write_text(block)
    documented = load_settings(path, env={})
    defaults = load_settings(None, env={})
    # `redis` is off by default but documented with its values; everything else must match.
    assert documented.replace(redis=None) == defaults
