"""Kafka in and out, through bytewax's Kafka connector.

Inbound topics become `Raw` messages tagged with the contract they must meet;
outbound records carry their own topic so one producer serves decisions,
alerts and dead letters.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from bytewax.connectors.kafka import (
    KafkaError,
    KafkaSink,
    KafkaSinkMessage,
    KafkaSource,
    KafkaSourceMessage,
)

from contract.parse import Raw
from riskflow.config import KafkaSettings

__all__ = ["inbound_source", "outbound_sink", "to_raw"]

_PRODUCER_DEFAULTS = {
    # Decisions are latency-bound: send almost at once, but let a burst share a request.
    "linger.ms": "2",
    "acks": "all",
    "enable.idempotence": "true",
    "compression.type": "lz4",
}


_CONSUMER_DEFAULTS = {
    # librdkafka lets an idle fetch wait up to 500 ms; a risk decision cannot.
    "fetch.wait.max.ms": "10",
    "fetch.error.backoff.ms": "10",
}


def brokers(settings: KafkaSettings) -> list[str]:
    return [b.strip() for b in settings.bootstrap_servers.split(",") if b.strip()]


def inbound_source(settings: KafkaSettings) -> KafkaSource:
    t = settings.topics
    return KafkaSource(
        brokers(settings),
        [t.payments, t.logins, t.feedback],
        tail=True,
        batch_size=settings.batch_size,
        add_config=_CONSUMER_DEFAULTS | settings.consumer,
        # Broker errors become dead letters instead of stopping the bank's scoring.
        raise_on_errors=False,
    )


def outbound_sink(settings: KafkaSettings) -> KafkaSink:
    return KafkaSink(brokers(settings), None, add_config=_PRODUCER_DEFAULTS | settings.producer)


def to_raw(messages: Iterable[KafkaSourceMessage | KafkaError], kinds: dict[str, str]) -> list[Raw]:
    """Tag each consumed message with its contract; consumer errors keep their metadata."""
    now = time.time()
    out: list[Raw] = []
    for item in messages:
        if isinstance(item, KafkaError):
            msg = item.msg
            out.append(
                Raw(
                    "kafka_error:" + str(item.err),
                    msg.value or b"",
                    msg.topic or "",
                    msg.partition,
                    msg.offset,
                    now,
                )
            )
            continue
        topic = item.topic or ""
        out.append(
            Raw(kinds.get(topic, "unknown"), item.value, topic, item.partition, item.offset, now)
        )
    return out


def sink_message(topic: str, key: str, value: bytes) -> KafkaSinkMessage:
    return KafkaSinkMessage(key.encode(), value, topic=topic)
