"""Session fixtures: real Apache Kafka and a real redis-server, started once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from hypothesis import settings

from tests.infra.kafka import kafka_broker
from tests.infra.kafka_secure import SecureKafka, secure_kafka_broker, secure_tools_missing
from tests.infra.redis import redis_server

# CI replays the same examples every run; locally each run explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with kafka_broker(tmp_path_factory.mktemp("kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def secure_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    """A broker of SASL_SSL only, with the riskflow principal's ACLs (scripts/kafka-local)."""
    if reason := secure_tools_missing():
        pytest.skip(reason)
    with secure_kafka_broker(tmp_path_factory.mktemp("kafka-secure")) as broker:
        yield broker


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()
