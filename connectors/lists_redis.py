"""Risk lists kept in Redis, changed with an audit trail and announced on Kafka.

Redis is the source of truth other bank systems read too:

- `{prefix}:lists:entries` hash, entry id (`deny:payee:A123`) -> entry JSON;
- `{prefix}:lists:audit` stream, one record per add, remove or expiry with
  who, when, what and why; nothing is ever deleted from it.

Every change is also published on the control topic (`risk.lists`), which
each flow process follows with a consumer of its own, so a change reaches
every worker of a multi-process flow within a poll interval. A bulk import
publishes one `sync` and the processes reload the whole list.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import redis
from confluent_kafka import Consumer, Producer, TopicPartition

from riskflow.connectors.kafka import ensure_topics
from riskflow.connectors.kafka_client import ClientValue, client_config
from riskflow.connectors.metrics import LIST_CHANGES, LIST_ENTRIES
from riskflow.contract.masking import mask_text
from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import Features
from riskflow.scoring.lists.csvfile import RowError, read_entries
from riskflow.scoring.lists.entries import ListChange, ListEntry
from riskflow.scoring.lists.index import ListIndex, Screening

__all__ = ["ListsControl", "RedisListStore", "RedisLists", "import_csv"]

log = logging.getLogger(__name__)


_encode = msgspec.json.encode
_decode_entry = msgspec.json.Decoder(ListEntry).decode
_decode_change = msgspec.json.Decoder(ListChange).decode

# Remove an entry and audit it in one atomic step, so concurrent expiry sweeps
# by several processes audit each expiry exactly once.
_REMOVE = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'op', ARGV[2], 'entry_id', ARGV[1], 'entry', v,
           'actor', ARGV[3], 'why', ARGV[4], 'at', ARGV[5])
return v
"""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RedisListStore:
    def __init__(self, client: redis.Redis, prefix: str = "riskflow") -> None:
        self.client = client
        self.entries_key = f"{prefix}:lists:entries"
        self.audit_key = f"{prefix}:lists:audit"
        self._remove = client.register_script(_REMOVE)

    def all(self) -> list[ListEntry]:
        values: Any = self.client.hvals(self.entries_key)
        return [_decode_entry(v) for v in values]

    def add(self, entry: ListEntry, *, actor: str, why: str) -> None:
        self.add_many([entry], actor=actor, why=why)

    def add_many(self, entries: Iterable[ListEntry], *, actor: str, why: str) -> int:
        """Write entries and their audit records, a few thousand per round trip."""
        count = 0
        pipe = self.client.pipeline(transaction=False)
        at = _now_iso()
        for entry in entries:
            blob = _encode(entry)
            pipe.hset(self.entries_key, entry.id, blob)
            pipe.xadd(
                self.audit_key,
                {
                    "op": "add",
                    "entry_id": entry.id,
                    "entry": blob,
                    "actor": actor,
                    "why": why,
                    "at": at,
                },
            )
            count += 1
            if count % 5000 == 0:
                pipe.execute()
        pipe.execute()
        return count

    def remove(self, entry_id: str, *, actor: str, why: str, op: str = "remove") -> bool:
        return (
            self._remove(
                keys=[self.entries_key, self.audit_key], args=[entry_id, op, actor, why, _now_iso()]
            )
            is not None
        )

    def audit(self, last: int | None = None) -> list[dict[str, str]]:
        """Audit records oldest first: all of them, or the most recent `last`."""
        records: Any
        if last is None:
            records = self.client.xrange(self.audit_key)
        else:
            newest_first: Any = self.client.xrevrange(self.audit_key, count=last)
            records = newest_first[::-1]
        return [
            {"id": rid.decode()} | {k.decode(): v.decode() for k, v in fields.items()}
            for rid, fields in records
        ]


class ListsControl:
    """Publishes list changes on the control topic."""

    def __init__(
        self, bootstrap: str, topic: str, *, client: Mapping[str, ClientValue] | None = None
    ) -> None:
        self.topic = topic
        ensure_topics(bootstrap, [topic], client=client)
        self._producer = Producer(
            client_config(bootstrap, client, {"linger.ms": 0, "enable.idempotence": True})
        )

    def publish(self, change: ListChange) -> None:
        key = (change.entry.id if change.entry else change.entry_id or "sync").encode()
        self._producer.produce(self.topic, _encode(change), key)
        remaining = self._producer.flush(10)
        if remaining:
            raise RuntimeError(f"list change not delivered to {self.topic}")


def import_csv(
    store: RedisListStore, control: ListsControl | None, text: str, *, actor: str, why: str
) -> tuple[int, list[RowError]]:
    """Load a lists CSV: good rows into Redis (audited), then one `sync` for the flow."""
    entries, errors = read_entries(text, actor=actor)
    loaded = store.add_many(entries, actor=actor, why=why)
    if control is not None:
        control.publish(ListChange(op="sync"))
    return loaded, errors


class RedisLists:
    """A flow process's copy of the lists: loaded from Redis, kept current from Kafka."""

    def __init__(
        self,
        store: RedisListStore,
        *,
        bootstrap: str | None,
        topic: str,
        client: Mapping[str, ClientValue] | None = None,
        sweep_interval_s: float = 5.0,
        poll_s: float = 0.05,
    ) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._index = ListIndex()
        self._stop = threading.Event()
        self._bootstrap = bootstrap
        self._topic = topic
        self._client = dict(client or {})
        self._sweep_interval_s = sweep_interval_s
        self._poll_s = poll_s
        self._control = ListsControl(bootstrap, topic, client=client) if bootstrap else None
        consumer = self._follow() if bootstrap else None
        # Load after following starts: a change made in between is applied twice, never missed.
        self.reload()
        self._thread = threading.Thread(
            target=self._run, args=(consumer,), name="riskflow-lists", daemon=True
        )
        self._thread.start()

    def _follow(self) -> Consumer:
        assert self._bootstrap is not None
        ensure_topics(self._bootstrap, [self._topic], client=self._client)
        consumer = Consumer(
            client_config(
                self._bootstrap,
                self._client,
                {
                    "group.id": f"riskflow-lists-{uuid.uuid4().hex}",
                    "enable.auto.commit": False,
                    "fetch.wait.max.ms": 50,
                },
            )
        )
        metadata = consumer.list_topics(self._topic, timeout=30).topics[self._topic]
        if metadata.error is not None:
            raise RuntimeError(f"control topic {self._topic!r}: {metadata.error.str()}")
        assignment = []
        for p in metadata.partitions:
            # Start at the end: the Redis load that follows covers everything before it.
            _, high = consumer.get_watermark_offsets(TopicPartition(self._topic, p), timeout=30)
            assignment.append(TopicPartition(self._topic, p, high))
        consumer.assign(assignment)
        return consumer

    def reload(self) -> None:
        fresh = ListIndex(self.store.all())
        with self._lock:
            self._index = fresh
        LIST_ENTRIES.set(len(fresh))

    def _apply(self, change: ListChange) -> None:
        if change.op == "sync":
            self.reload()
        else:
            with self._lock:
                if change.op == "add" and change.entry is not None:
                    self._index.put(change.entry)
                elif change.op == "remove" and change.entry_id is not None:
                    self._index.remove(change.entry_id)
                size = len(self._index)
            LIST_ENTRIES.set(size)
        LIST_CHANGES.labels(change.op).inc()

    def _apply_raw(self, value: bytes) -> None:
        try:
            change = _decode_change(value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Only riskflow writes this topic; a bad record is logged and the rest still applies.
            log.warning("ignoring a malformed list change: %s", mask_text(str(exc)))
            return
        self._apply(change)

    def _sweep(self, now: float) -> None:
        with self._lock:
            due = [e.id for e in self._index.entries() if not e.active(now)]
        for entry_id in due:
            # Only the process whose removal wins announces it; the others find it gone.
            expired = self.store.remove(entry_id, actor="riskflow", why="expired", op="expire")
            if expired and self._control is not None:
                self._control.publish(ListChange(op="remove", entry_id=entry_id))
            with self._lock:
                self._index.remove(entry_id)

    def _run(self, consumer: Consumer | None) -> None:
        next_sweep = time.time() + self._sweep_interval_s
        while not self._stop.is_set():
            try:
                if consumer is not None:
                    # poll() returns as soon as one change arrives (consume() would wait for
                    # a full batch or the timeout); the rest of a burst is drained at once.
                    first = consumer.poll(self._poll_s)
                    burst = [first, *consumer.consume(1000, 0)] if first is not None else []
                    for msg in burst:
                        value = msg.value()
                        if msg.error() is None and value is not None:
                            self._apply_raw(value)
                else:
                    self._stop.wait(self._poll_s)
                now = time.time()
                if now >= next_sweep:
                    next_sweep = now + self._sweep_interval_s
                    self._sweep(now)
            except (redis.RedisError, RuntimeError) as exc:
                # The copy stays usable; the next round tries again.
                log.warning("lists follower: %s", mask_text(str(exc)))
                self._stop.wait(1.0)
        if consumer is not None:
            consumer.close()

    def current(self, now: float) -> ListIndex:
        return self._index

    def screen(self, event: Payment | Login, features: Features, now: float) -> Screening:
        with self._lock:
            return self._index.screen(event, features, now)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
