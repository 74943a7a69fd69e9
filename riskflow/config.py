"""The typed configuration of a riskflow run, loaded from YAML.

Every section has working defaults, so an empty file is a valid config. The
environment variables `KAFKA_BOOTSTRAP_SERVERS` and `REDIS_URL` override the
file, which is how containers and the test suite point a run at their brokers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import msgspec
import yaml

from contract import topics
from features.account import FeatureConfig
from scoring.policy import Policy

__all__ = [
    "FileInput",
    "FileOutput",
    "KafkaInput",
    "KafkaOutput",
    "KafkaSettings",
    "ListsSettings",
    "MetricsSettings",
    "RecoverySettings",
    "RedisSettings",
    "RulesSettings",
    "Settings",
    "SimulatorInput",
    "TopicNames",
    "load_settings",
]


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TopicNames(_Strict, frozen=True):
    payments: str = topics.PAYMENTS
    logins: str = topics.LOGINS
    feedback: str = topics.FEEDBACK
    decisions: str = topics.DECISIONS
    alerts: str = topics.ALERTS
    deadletter: str = topics.DEADLETTER

    def inbound_kinds(self) -> dict[str, str]:
        """Topic name -> the contract its messages must meet."""
        return {self.payments: "payment", self.logins: "login", self.feedback: "feedback"}


class KafkaSettings(_Strict, frozen=True):
    bootstrap_servers: str = "127.0.0.1:9092"
    topics: TopicNames = TopicNames()
    batch_size: int = 1000
    start_offset: Literal["earliest", "latest"] = "earliest"
    """Where a flow without recovery state starts reading the inbound topics."""
    consumer: dict[str, str] = {}
    """Extra librdkafka consumer properties."""
    producer: dict[str, str] = {}
    """Extra librdkafka producer properties."""


class RedisSettings(_Strict, frozen=True):
    url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "riskflow"
    ttl_s: int = 30 * 86400
    """Accounts idle this long expire from Redis (the flow's own state keeps them)."""
    max_pending: int = 100_000
    """Accounts buffered while Redis is unreachable; the oldest are dropped beyond it."""


class RulesSettings(_Strict, frozen=True):
    path: str | None = None
    """Ruleset YAML; None uses the packaged default ruleset."""
    check_interval_s: float = 1.0


class ListsSettings(_Strict, frozen=True):
    deny_path: str | None = None
    """CSV `entity,value,reason,source`; re-read when it changes."""
    check_interval_s: float = 1.0


class MetricsSettings(_Strict, frozen=True):
    enabled: bool = True
    port: int = 9100
    """Prometheus endpoint; process N of a cluster serves on port + N."""


class RecoverySettings(_Strict, frozen=True):
    directory: str | None = None
    """bytewax recovery partitions; None runs without recovery."""
    snapshot_interval_s: float = 10.0
    """bytewax epoch length: how often state is snapshotted and how much a restart replays."""
    backup_interval_s: float = 0.0
    partitions: int = 1


class KafkaInput(_Strict, frozen=True, tag="kafka"):
    pass


class FileInput(_Strict, frozen=True, tag="files"):
    payments: str | None = None
    logins: str | None = None
    feedback: str | None = None
    rate: float | None = None
    """Replay pace in messages/s; None replays as fast as the flow goes."""


class SimulatorInput(_Strict, frozen=True, tag="simulator"):
    seed: int = 7
    customers: int = 5000
    events: int | None = None
    days: float = 1.0
    malformed_rate: float = 0.001
    rate: float | None = None
    """Messages/s; None generates as fast as the flow goes."""


class KafkaOutput(_Strict, frozen=True, tag="kafka"):
    pass


class FileOutput(_Strict, frozen=True, tag="files"):
    directory: str = "out"


class Settings(_Strict, frozen=True):
    input: KafkaInput | FileInput | SimulatorInput = KafkaInput()
    output: KafkaOutput | FileOutput = KafkaOutput()
    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings | None = None
    rules: RulesSettings = RulesSettings()
    lists: ListsSettings = ListsSettings()
    features: FeatureConfig = FeatureConfig()
    policy: Policy = Policy()
    metrics: MetricsSettings = MetricsSettings()
    recovery: RecoverySettings = RecoverySettings()

    def replace(self, **changes: object) -> Settings:
        return msgspec.structs.replace(self, **changes)


def load_settings(path: str | Path | None = None, *, env: dict[str, str] | None = None) -> Settings:
    """Read a YAML config (or defaults) and apply environment overrides."""
    env = dict(os.environ) if env is None else env
    data: dict[str, object] = {}
    if path is not None:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    settings = msgspec.convert(data, Settings, str_keys=True)
    if bootstrap := env.get("KAFKA_BOOTSTRAP_SERVERS"):
        settings = settings.replace(
            kafka=msgspec.structs.replace(settings.kafka, bootstrap_servers=bootstrap)
        )
    if redis_url := env.get("REDIS_URL"):
        base = settings.redis or RedisSettings()
        settings = settings.replace(redis=msgspec.structs.replace(base, url=redis_url))
    return settings
