"""Decisions, alerts, notifications and dead letters out to Kafka, flushed once an epoch.

bytewax's own Kafka sink flushes the producer after every batch: the worker then waits for
the brokers' acknowledgement (a linger and a round trip, `acks=all`) before it reads the
next message, on every batch, and at a few thousand events per second those waits were
most of the decision's latency. Here a batch is handed to librdkafka and the worker goes
on; the producer is flushed when the epoch closes, in `snapshot`, which bytewax calls
before it commits the epoch's recovery state. So a crash can only lose what a replay of
the epoch sends again (decisions carry their `event_id`; consumers deduplicate), as with a
flush per batch, and a delivery that failed stops the epoch from being committed.

The sink has one partition per process (`p<process id>`), so each process's producer
writes what is routed to it; items are routed by their Kafka key, and the messages of one
key keep their order.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any
from zlib import adler32

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition
from confluent_kafka import KafkaError, Message, Producer

__all__ = ["DeliveryFailed", "EpochFlushedSink", "flush_open", "routing_key"]

log = logging.getLogger(__name__)

_FLUSH_WAIT_S = 0.1
"""How long a full local queue is drained before the produce is tried again."""

Out = KafkaSinkMessage[bytes, bytes]


class DeliveryFailed(RuntimeError):
    """Messages the brokers did not take: the epoch must not be committed without them."""


def routing_key(message: Out) -> tuple[str, Out]:
    """The message keyed for the sink: by its Kafka key, so one key's messages keep order."""
    key = message.key
    return (key.decode("utf-8", "replace") if key else "", message)


_OPEN: weakref.WeakSet[_Partition] = weakref.WeakSet()
"""This process's sink partitions, for `flush_open` when the flow is stopped."""


def flush_open(timeout_s: float = 10.0) -> int:
    """Send what the producers still hold once the flow has stopped (Ctrl-C, SIGTERM: bytewax
    closes no partition then); the number of messages still unsent after `timeout_s`."""
    return sum(part.flush(timeout_s) for part in list(_OPEN))


class _Partition(StatefulSinkPartition[Out, None]):
    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._failed: list[str] = []
        _OPEN.add(self)

    def flush(self, timeout_s: float) -> int:
        return int(self._producer.flush(timeout_s))

    def _delivered(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            # The reason only: a message's key and value are the bank's data.
            self._failed.append(err.str())

    def _produce(self, msg: Out) -> None:
        producer, topic = self._producer, msg.topic
        if topic is None:  # every record riskflow writes names its topic (`sink_message`)
            raise ValueError("a message for Kafka without a topic")
        while True:
            try:
                producer.produce(topic, msg.value, msg.key, on_delivery=self._delivered)
                return
            except BufferError:
                # The local queue is full: let librdkafka send some, then try again.
                producer.poll(_FLUSH_WAIT_S)

    def write_batch(self, values: list[Out]) -> None:
        for msg in values:
            self._produce(msg)
        self._producer.poll(0)

    def snapshot(self) -> None:
        self._producer.flush()
        if self._failed:
            failed, self._failed = self._failed, []
            log.error("kafka out: %d messages not delivered (%s)", len(failed), failed[0])
            raise DeliveryFailed(
                f"{len(failed)} messages were not delivered to Kafka ({failed[0]}); the "
                "epoch is not committed, and a restart sends them again"
            )
        return None

    def close(self) -> None:
        self._producer.flush()


class EpochFlushedSink(FixedPartitionedSink[Out, None]):
    """One producer per process, flushed when an epoch closes (module docstring)."""

    def __init__(self, config: dict[str, Any], process_id: int = 0) -> None:
        self._config = config
        self._part = f"p{process_id}"

    def list_parts(self) -> list[str]:
        return [self._part]

    def part_fn(self, item_key: str) -> int:
        return adler32(item_key.encode())

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Partition:
        return _Partition(Producer(self._config))
