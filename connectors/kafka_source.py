"""The inbound Kafka source: one bytewax partition per topic partition, polled without blocking.

bytewax's own Kafka source waits a millisecond on every idle partition, so a
worker reading nine partitions spends about nine milliseconds per polling
round before any event moves on. This source asks each partition only for
what is already fetched and, when a partition is idle, tells bytewax when to
ask again; an event waits for at most one short idle interval.

The recovery state of a partition is the next offset to read, so a restarted
flow resumes exactly where its last completed epoch ended.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, TopicPartition
from confluent_kafka import KafkaError as ConfluentError
from confluent_kafka.admin import AdminClient
from prometheus_client import Gauge

from contract.parse import Raw

__all__ = ["CONSUMER_LAG", "KafkaInbound"]

CONSUMER_LAG = Gauge(
    "riskflow_consumer_lag_messages",
    "Messages in a partition not yet read by the flow",
    ["topic", "partition"],
)

_IDLE = timedelta(milliseconds=2)
"""How long an idle partition waits before it is polled again."""


class _Partition(StatefulSourcePartition[Raw, int]):
    def __init__(
        self,
        config: dict[str, object],
        topic: str,
        partition: int,
        kind: str,
        offset: int,
        batch_size: int,
    ) -> None:
        self._topic = topic
        self._partition = partition
        self._kind = kind
        self._offset = offset
        self._batch_size = batch_size
        self._awake: datetime | None = None
        self._lag = CONSUMER_LAG.labels(topic, str(partition))
        consumer = Consumer(config | {"stats_cb": self._stats})
        # Assigned, not subscribed: offsets live in bytewax's recovery store, not a group.
        consumer.assign([TopicPartition(topic, partition, offset)])
        self._consumer = consumer

    def _stats(self, payload: str) -> None:
        try:
            stats = json.loads(payload)["topics"][self._topic]["partitions"][str(self._partition)]
            high = int(stats["hi_offset"])
        except (KeyError, ValueError, TypeError):
            return
        if high >= 0 and self._offset >= 0:
            self._lag.set(max(0, high - self._offset))

    def next_batch(self) -> list[Raw]:
        messages = self._consumer.consume(self._batch_size, 0)
        if not messages:
            self._awake = datetime.now(UTC) + _IDLE
            return []
        self._awake = None
        now = time.time()
        out: list[Raw] = []
        for m in messages:
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
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> int:
        return self._offset

    def close(self) -> None:
        self._consumer.close()


class KafkaInbound(FixedPartitionedSource[Raw, int]):
    """Payments, logins and feedback topics as `Raw` messages tagged with their contract."""

    def __init__(
        self,
        brokers: list[str],
        kinds: dict[str, str],
        *,
        batch_size: int = 1000,
        start: str = "earliest",
        config: dict[str, str] | None = None,
    ) -> None:
        self._brokers = brokers
        self._kinds = kinds
        self._batch_size = batch_size
        self._start = OFFSET_BEGINNING if start == "earliest" else OFFSET_END
        self._config = dict(config or {})

    def _base_config(self) -> dict[str, object]:
        return {
            "bootstrap.servers": ",".join(self._brokers),
            "group.id": "riskflow-unused",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "statistics.interval.ms": 5000,
        } | self._config

    def list_parts(self) -> list[str]:
        admin = AdminClient({"bootstrap.servers": ",".join(self._brokers)})
        parts: list[str] = []
        for topic in self._kinds:
            metadata = admin.list_topics(topic, timeout=30).topics[topic]
            if metadata.error is not None:
                raise RuntimeError(f"cannot list partitions of {topic!r}: {metadata.error.str()}")
            parts.extend(f"{topic}#{p}" for p in sorted(metadata.partitions))
        return parts

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Partition:
        topic, _, index = for_part.rpartition("#")
        offset = self._start if resume_state is None else resume_state
        return _Partition(
            self._base_config(), topic, int(index), self._kinds[topic], offset, self._batch_size
        )
