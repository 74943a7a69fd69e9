"""Session fixtures: real Apache Kafka and a real redis-server, started once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from hypothesis import settings

from riskflow.connectors.redis_client import RedisSettings
from tests.infra.kafka import kafka_broker
from tests.infra.kafka_secure import SecureKafka, secure_kafka_broker, secure_tools_missing
from tests.infra.redis import redis_server
from tests.infra.redis_tls import RedisTLS, TLSUnsupported, redis_tls_server

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


@pytest.fixture(scope="session")
def redis_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisTLS]:
    """A TLS-only redis-server: `default` user off, riskflow limited to the documented ACL."""
    try:
        with redis_tls_server(tmp_path_factory.mktemp("redis-tls")) as server:
            yield server
    except TLSUnsupported as exc:
        pytest.skip(f"no TLS redis-server: {exc}")


REDIS_PASSWORD_ENV = "RISKFLOW_TEST_REDIS_PASSWORD"


@pytest.fixture
def secure_redis(redis_tls: RedisTLS, monkeypatch: pytest.MonkeyPatch) -> RedisSettings:
    """Settings for the ACL user over rediss://, its password in an environment variable."""
    redis_tls.admin.flushall()
    monkeypatch.setenv(REDIS_PASSWORD_ENV, redis_tls.password)
    return RedisSettings(
        url=redis_tls.url,
        key_prefix=redis_tls.prefix,
        username=redis_tls.username,
        password_env=REDIS_PASSWORD_ENV,
        ssl_ca_file=redis_tls.ca_file,
    )
