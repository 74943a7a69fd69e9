"""Kafka in and out.

Inbound topics become `Raw` messages tagged with the contract they must meet
(see `connectors.kafka_source`); outbound records carry their own topic so one
producer, bytewax's Kafka sink, serves decisions, alerts and dead letters.
"""

from __future__ import annotations

from bytewax.connectors.kafka import KafkaSink, KafkaSinkMessage

from connectors.kafka_source import KafkaInbound
from riskflow.config import KafkaSettings

__all__ = ["inbound_source", "outbound_sink", "sink_message"]

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
