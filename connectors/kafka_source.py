"""The inbound Kafka source: one bytewax partition per topic partition, polled without blocking.

bytewax's own Kafka source waits a millisecond on every idle partition, so a
worker reading nine partitions spends about nine milliseconds per polling
round before any event moves on, and it runs a client per partition. This
source shares one client among a worker's partitions, asks only for what is
already fetched and, when a partition is idle, tells bytewax when to ask
again; an event waits for at most one short idle interval.

The recovery state of a partition is the next offset to read, so a restarted
flow resumes exactly where its last completed epoch ended.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)
from confluent_kafka import KafkaError as ConfluentError
from confluent_kafka.admin import AdminClient
from prometheus_client import Gauge

from riskflow.connectors.kafka_client import ClientValue, client_config
from riskflow.contract.parse import Raw

__all__ = ["CONSUMER_LAG", "KafkaInbound"]

CONSUMER_LAG = Gauge(
    "riskflow_consumer_lag_messages",
    "Messages in a partition not yet read by the flow",
    ["topic", "partition"],
)

log = logging.getLogger(__name__)

_IDLE = timedelta(milliseconds=2)
"""How long an idle partition waits before it is polled again."""


class _SharedConsumer:
    """One librdkafka consumer serving every partition a worker owns.

    A consumer per partition would mean a client, its threads and its fetch
    requests per partition; on a small machine that load lands on the broker
    and shows up in the latency tail. Messages are sorted into per-partition
    buffers so each bytewax partition still returns (and snapshots) only its own.
    """

    def __init__(self, config: dict[str, object]) -> None:
        self.consumer = Consumer(config | {"stats_cb": self._stats})
        self.buffers: dict[tuple[str, int], deque[Message]] = {}
        self.offsets: dict[tuple[str, int], int] = {}

    def add(self, topic: str, partition: int, offset: int) -> None:
        self.buffers[(topic, partition)] = deque()
        self.offsets[(topic, partition)] = offset
        # Assigned, not subscribed: offsets live in bytewax's recovery store, not a group.
        self.consumer.incremental_assign([TopicPartition(topic, partition, offset)])

    def remove(self, topic: str, partition: int) -> bool:
        """Forget a partition; True when no partition is left."""
        self.buffers.pop((topic, partition), None)
        self.offsets.pop((topic, partition), None)
        return not self.buffers

    def fill(self, batch_size: int) -> None:
        for m in self.consumer.consume(batch_size, 0):
            buffer = self.buffers.get((m.topic() or "", m.partition() or 0))
            if buffer is not None:
                buffer.append(m)
            elif m.error() is not None:
                # Client-wide conditions (all brokers down...) belong to no message.
                log.warning("kafka consumer: %s", m.error())

    def _stats(self, payload: str) -> None:
        try:
            topics = json.loads(payload)["topics"]
        except (KeyError, ValueError):
            return
        for (topic, partition), offset in self.offsets.items():
            try:
                high = int(topics[topic]["partitions"][str(partition)]["hi_offset"])
            except (KeyError, ValueError, TypeError):
                continue
            if high >= 0 and offset >= 0:
                CONSUMER_LAG.labels(topic, str(partition)).set(max(0, high - offset))


_SHARED: dict[tuple[int, int], _SharedConsumer] = {}


class _Partition(StatefulSourcePartition[Raw, int]):
    def __init__(
        self,
        shared: _SharedConsumer,
        release: Callable[[], None],
        topic: str,
        partition: int,
        kind: str,
        offset: int,
        batch_size: int,
    ) -> None:
        self._shared = shared
        self._release = release
        self._topic = topic
        self._partition = partition
        self._kind = kind
        self._offset = offset
        self._batch_size = batch_size
        self._awake: datetime | None = None
        shared.add(topic, partition, offset)
        self._buffer = shared.buffers[(topic, partition)]

    def next_batch(self) -> list[Raw]:
        buffer = self._buffer
        if not buffer:
            self._shared.fill(self._batch_size)
        if not buffer:
            self._awake = datetime.now(UTC) + _IDLE
            return []
        self._awake = None
        now = time.time()
        out: list[Raw] = []
        while buffer and len(out) < self._batch_size:
            m = buffer.popleft()
            error = m.error()
            offset = m.offset()
            if error is not None:
                if error.code() == ConfluentError._PARTITION_EOF:
                    continue
                # Consumer errors are kept as dead letters rather than stopping the bank.
                out.append(
                    Raw(
                        "kafka_error:" + error.str(),
                        m.value() or b"",
                        self._topic,
                        self._partition,
                        offset,
                        now,
                    )
                )
                continue
            out.append(Raw(self._kind, m.value(), self._topic, self._partition, offset, now))
            if offset is not None and offset >= 0:
                self._offset = offset + 1
        self._shared.offsets[(self._topic, self._partition)] = self._offset
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> int:
        return self._offset

    def close(self) -> None:
        if self._shared.remove(self._topic, self._partition):
            self._release()


class KafkaInbound(FixedPartitionedSource[Raw, int]):
    """Payments, logins and feedback topics as `Raw` messages tagged with their contract."""

    def __init__(
        self,
        brokers: list[str],
        kinds: dict[str, str],
        *,
        batch_size: int = 1000,
        start: str = "earliest",
        client: Mapping[str, ClientValue] | None = None,
        config: Mapping[str, object] | None = None,
    ) -> None:
        self._brokers = brokers
        self._client = dict(client or {})
        self._kinds = kinds
        self._batch_size = batch_size
        self._start = OFFSET_BEGINNING if start == "earliest" else OFFSET_END
        self._config = dict(config or {})

    def _base_config(self) -> dict[str, Any]:
        own: dict[str, object] = {
            "group.id": "riskflow-unused",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "statistics.interval.ms": 5000,
        }
        return client_config(",".join(self._brokers), self._client, own, self._config)

    def list_parts(self) -> list[str]:
        bootstrap = ",".join(self._brokers)
        admin = AdminClient(client_config(bootstrap, self._client, {"log_level": 0}))
        parts: list[str] = []
        for topic in self._kinds:
            try:
                metadata = admin.list_topics(topic, timeout=30).topics[topic]
            except KafkaException as exc:
                # Named, so the operator reads the address rather than librdkafka's internals.
                raise RuntimeError(
                    f"cannot list partitions of {topic!r} on {bootstrap}: {exc.args[0].str()}"
                ) from None
            if metadata.error is not None:
                raise RuntimeError(f"cannot list partitions of {topic!r}: {metadata.error.str()}")
            parts.extend(f"{topic}#{p}" for p in sorted(metadata.partitions))
        return parts

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Partition:
        topic, _, index = for_part.rpartition("#")
        offset = self._start if resume_state is None else resume_state
        # bytewax builds all of a worker's partitions on that worker's thread.
        key = (id(self), threading.get_ident())
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = _SharedConsumer(self._base_config())

        def release() -> None:
            _SHARED.pop(key, None)
            shared.consumer.close()

        return _Partition(
            shared, release, topic, int(index), self._kinds[topic], offset, self._batch_size
        )
