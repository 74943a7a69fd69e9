"""Kafka in and out.

Inbound topics become `Raw` messages tagged with the contract they must meet
(see `connectors.kafka_source`); outbound records carry their own topic so one
producer, bytewax's Kafka sink, serves decisions, alerts and dead letters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec
from bytewax.connectors.kafka import KafkaSink, KafkaSinkMessage
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from connectors.kafka_source import KafkaInbound
from connectors.reachable import wait_until
from contract import topics

__all__ = [
    "KafkaSettings",
    "KafkaUnreachable",
    "TopicNames",
    "ensure_topics",
    "inbound_source",
    "outbound_sink",
    "sink_message",
    "wait_for_kafka",
]


class TopicNames(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    payments: str = topics.PAYMENTS
    logins: str = topics.LOGINS
    feedback: str = topics.FEEDBACK
    decisions: str = topics.DECISIONS
    alerts: str = topics.ALERTS
    deadletter: str = topics.DEADLETTER
    notifications: str = topics.NOTIFICATIONS

    def inbound_kinds(self) -> dict[str, str]:
        """Topic name -> the contract its messages must meet."""
        return {self.payments: "payment", self.logins: "login", self.feedback: "feedback"}


class KafkaSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    bootstrap_servers: str = "127.0.0.1:9092"
    topics: TopicNames = TopicNames()
    batch_size: int = 1000
    start_offset: Literal["earliest", "latest"] = "earliest"
    """Where a flow without recovery state starts reading the inbound topics."""
    consumer: dict[str, str] = {}
    """Extra librdkafka consumer properties."""
    producer: dict[str, str] = {}
    """Extra librdkafka producer properties."""
    connect_timeout_s: float = 30.0
    """How long `riskflow run` waits at start for the brokers (and Redis) before giving up."""


_PRODUCER_DEFAULTS = {
    # Decisions are latency-bound: send almost at once, but let a burst share a request.
    "linger.ms": "2",
    "acks": "all",
    "enable.idempotence": "true",
    "compression.type": "lz4",
}


_CONSUMER_DEFAULTS = {
    # A waiting fetch is answered as soon as data arrives, so this only bounds idle
    # round trips; short values would make every idle partition hammer the broker.
    "fetch.wait.max.ms": "100",
    "fetch.error.backoff.ms": "50",
}


def brokers(settings: KafkaSettings) -> list[str]:
    return [b.strip() for b in settings.bootstrap_servers.split(",") if b.strip()]


def inbound_source(settings: KafkaSettings) -> KafkaInbound:
    t = settings.topics
    return KafkaInbound(
        brokers(settings),
        t.inbound_kinds(),
        batch_size=settings.batch_size,
        start=settings.start_offset,
        config=_CONSUMER_DEFAULTS | settings.consumer,
    )


def outbound_sink(settings: KafkaSettings) -> KafkaSink:
    return KafkaSink(brokers(settings), None, add_config=_PRODUCER_DEFAULTS | settings.producer)


def sink_message(topic: str, key: str, value: bytes) -> KafkaSinkMessage:
    return KafkaSinkMessage(key.encode(), value, topic=topic)


def ensure_topics(bootstrap: str, names: list[str], *, partitions: int = 1) -> None:
    """Create topics that do not exist yet (broker-default replication); existing ones stay."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(n, partitions, -1) for n in names]).values():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


class KafkaUnreachable(ConnectionError):
    """No broker answered within the start-up timeout; the message names the address."""


def wait_for_kafka(
    bootstrap: str, timeout_s: float, *, waiting: Callable[[str], None] | None = None
) -> None:
    """Return once a broker answers a metadata request, retrying with backoff up to timeout_s."""
    # librdkafka would log every refused connection to stderr; the caller reports instead.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})

    def probe(step: float) -> str | None:
        try:
            return None if admin.list_topics(timeout=step).brokers else "no broker"
        except KafkaException as exc:
            return exc.args[0].str() if exc.args else str(exc)

    wait_until(
        probe,
        what=f"Kafka at {bootstrap}",
        timeout_s=timeout_s,
        unreachable=KafkaUnreachable,
        waiting=waiting,
    )
