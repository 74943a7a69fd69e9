"""`riskflow bench hostile --via kafka`: the hostile corpus through Kafka to `riskflow run`.

The corpus of `benchmarks.hostile` is produced to fresh topics of several partitions
(valid events keyed by account, so each account's order holds; hostile messages keyed by
the account they name, or by no key, an empty key or garbage bytes). `riskflow run` reads
them as a process of its own, with recovery on and Kafka output to fresh topics, until the
decisions and dead letters expected have come out; SIGTERM then stops it, and the books are
balanced as for files, a dead letter matched to its message by (topic, partition, offset).

Labels go in only once every event is decided: a label read before its event waits
`models.hold_wall_s` of wall-clock time, and the bench shortens that wait so the labels
for events nobody decided are dead-lettered within the run instead of ten minutes later.
With `kill`, the flow is killed (SIGKILL) that many times on the way and started again
from its recovery directory: a replayed epoch may then repeat outputs, counted apart.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import yaml
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka import Message as KafkaMessage

from riskflow.benchmarks.hostile import Books, Corpus, SourceKey, build_corpus
from riskflow.connectors.kafka import ensure_topics
from riskflow.connectors.kafka_client import ClientSection, client_config
from riskflow.connectors.redis_client import RedisSettings, redis_client
from riskflow.simulator.config import SimConfig
from riskflow.simulator.hostile import LATE

__all__ = ["MAX_MESSAGE_BYTES", "bench_hostile_kafka", "message_key"]

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""The bench topics' `max.message.bytes`: above the broker's 1 MB default, so the flow's
own limits are what the largest hostile messages meet, not the broker's."""

_PARTITIONS = 4
_NAMES = ("payments", "logins", "feedback", "decisions", "alerts", "deadletter", "notifications")
_TOPIC_OF = {"payment": "payments", "login": "logins", "feedback": "feedback"}


class _Account(msgspec.Struct):
    account_id: object = None


_decode_account = msgspec.json.Decoder(_Account).decode


def message_key(rng: random.Random, category: str | None, payload: bytes) -> bytes | None:
    """A valid event's account; for a hostile message the account it names, or worse."""
    try:
        account = _decode_account(payload).account_id
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        account = None
    if category is None and isinstance(account, str):
        return account.encode()
    choice = rng.randrange(4)
    if choice == 0 and isinstance(account, str):
        return account.encode()[:256]
    if choice == 1:
        return b""
    if choice == 2:
        return rng.randbytes(rng.randrange(1, 40))  # not UTF-8, most of the time
    return None


def _create_topics(bootstrap: str, topics: dict[str, str], client: ClientSection | None) -> None:
    ensure_topics(
        bootstrap,
        list(topics.values()),
        partitions=_PARTITIONS,
        replication_factor=1,
        config={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
        client=client,
    )


@dataclass
class _Sent:
    expected: dict[SourceKey, str] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)
    valid_refused: int = 0
    messages: int = 0
    seconds: float = 0.0

    def delivered(self, category: str | None, err: KafkaError | None, msg: KafkaMessage) -> None:
        if err is not None:
            if category is None:
                self.valid_refused += 1
            else:
                self.refused[category] += 1
        elif category is not None and category not in LATE:
            self.expected[(msg.topic() or "", msg.partition(), msg.offset() or 0)] = category


def _produce(
    bootstrap: str,
    topics: dict[str, str],
    rows: dict[str, list[tuple[str | None, bytes]]],
    seed: int,
    client: ClientSection | None,
) -> _Sent:
    """Each kind's rows produced, the kinds interleaved in proportion so they advance together."""
    producer = Producer(
        client_config(
            bootstrap,
            client,
            {
                "linger.ms": 20,
                "enable.idempotence": True,
                "compression.type": "lz4",
                "message.max.bytes": MAX_MESSAGE_BYTES,
            },
        )
    )
    rng = random.Random(seed)
    sent = _Sent()
    queue = sorted((i / len(rows[kind]), kind, i) for kind in rows for i in range(len(rows[kind])))
    started = time.perf_counter()
    for _, kind, i in queue:
        category, payload = rows[kind][i]
        key = message_key(rng, category, payload)
        on_delivery = partial(sent.delivered, category)
        while True:
            try:
                producer.produce(topics[_TOPIC_OF[kind]], payload, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain
            except KafkaException as exc:
                # Refused before it left (larger than the producer may send).
                on_delivery(exc.args[0], None)  # type: ignore[arg-type]
                break
        producer.poll(0)
        sent.messages += 1
    left = producer.flush(120)
    if left:
        raise RuntimeError(f"{left} messages were not delivered to Kafka in 120 s")
    sent.seconds = time.perf_counter() - started
    return sent


class _Stamped(msgspec.Struct):
    event_id: str
    account_id: str
    ts: datetime


def _last_label(corpus: Corpus) -> bytes:
    """A valid label two hours after every other label, for the last payment.

    A label waits for its event until labels an hour (`models.hold_s`) newer have come: a
    live flow never knows the stream has ended. This one moves label time past the labels
    for events nobody decided, so they are dead-lettered, as the end of a replay does.
    """
    decode = msgspec.json.Decoder(_Stamped).decode
    newest = max(
        decode(payload).ts
        for category, payload in corpus.rows["feedback"]
        if category is None or category in LATE
    )
    payment = decode(next(p for c, p in reversed(corpus.rows["payment"]) if c is None))
    return msgspec.json.encode(
        {
            "event_id": payment.event_id,
            "account_id": payment.account_id,
            "label": "legit",
            "ts": max(newest, payment.ts) + timedelta(hours=2),
        }
    )


class _Flow:
    """`riskflow run` as a process of its own; each start logs to its own file."""

    def __init__(self, config: Path, work: Path, bootstrap: str) -> None:
        self.config = config
        self.work = work
        # The config alone says which broker and Redis (if any) the flow uses.
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
        }
        self.logs: list[Path] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_kib = 0

    def start(self) -> None:
        log = self.work / f"flow-{len(self.logs)}.log"
        self.logs.append(log)
        with open(log, "wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "riskflow", "run", "--config", str(self.config)],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    def sample_rss(self) -> None:
        if self.proc is None:
            return
        try:
            with open(f"/proc/{self.proc.pid}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmHWM:"):
                        self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass  # gone, or not Linux: the figure is then left out

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.sample_rss()
        self.proc.kill()
        self.proc.wait(timeout=60)

    def stop(self, timeout: float = 120.0) -> int | None:
        """SIGTERM, as a container stop; the exit code, or None if it had to be killed."""
        if self.proc is None:
            return None
        self.sample_rss()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=60)
                return None
        return self.proc.returncode

    def logged(self, needle: str) -> int:
        """How many of the starts' logs contain `needle`."""
        return sum(needle in log.read_text(errors="replace") for log in self.logs)


class _Outputs:
    """The decision and dead-letter topics read from the start, into the books."""

    def __init__(
        self, bootstrap: str, topics: dict[str, str], books: Books, client: ClientSection | None
    ) -> None:
        self.books = books
        self.decisions, self.deadletter = topics["decisions"], topics["deadletter"]
        self.consumer = Consumer(
            client_config(
                bootstrap,
                client,
                {
                    "group.id": f"bench-hostile-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "enable.partition.eof": False,
                },
            )
        )
        self.parts = [
            TopicPartition(t, p, OFFSET_BEGINNING)
            for t in (self.decisions, self.deadletter)
            for p in range(_PARTITIONS)
        ]
        self.consumer.assign(self.parts)

    def poll(self, timeout: float) -> int:
        n = 0
        for m in self.consumer.consume(2000, timeout):
            value = m.value()
            if m.error() is not None or value is None:
                continue
            n += 1
            if m.topic() == self.decisions:
                self.books.decision(value)
            else:
                self.books.dead_letter(value)
        return n

    def drain(self, timeout: float = 60.0) -> bool:
        """Everything on the topics now: read up to each partition's high watermark (True)."""
        ends = {}
        for tp in self.parts:
            low, high = self.consumer.get_watermark_offsets(tp, timeout=10)
            if high > low:  # an empty partition has no position to reach
                ends[(tp.topic, tp.partition)] = high
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = self.consumer.position([TopicPartition(t, p) for (t, p) in ends])
            if all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in positions):
                return True
            self.poll(0.5)
        return False

    def close(self) -> None:
        self.consumer.close()


def _config(
    work: Path,
    bootstrap: str,
    topics: dict[str, str],
    start: datetime,
    redis_url: str | None,
    client: ClientSection | None,
) -> Path:
    # Live input judges event time against the clock: the oldest accepted reaches back to
    # the simulated bank's start, whenever the bench is run.
    past_days = max(730, (datetime.now(UTC) - start).days + 30)
    config: dict[str, Any] = {
        "input": {"type": "kafka"},
        "output": {"type": "kafka"},
        "kafka": {"bootstrap_servers": bootstrap, "topics": topics, "client": dict(client or {})},
        "metrics": {"enabled": False},
        "parse": {"past_days": past_days},
        "models": {"hold_wall_s": 2.0},
        "recovery": {"directory": str(work / "recovery"), "snapshot_interval_s": 5},
    }
    if redis_url:
        # As in production: a restart re-emits the decisions already published and keeps the
        # feature log the labels are joined to. The topics' tag keeps the keys apart.
        config["redis"] = {"url": redis_url, "key_prefix": topics["payments"].split(".")[0]}
        config["models"]["backend"] = "redis"
        # Every restart of this run verifies what the one before signed: one key per run.
        key = work / "snapshot.key"
        key.touch(mode=0o600)
        key.write_text(secrets.token_hex(32) + "\n")
        config["models"]["signing_key_file"] = str(key)
    path = work / "riskflow.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _forget(redis_url: str, prefix: str) -> None:
    """The run's keys out of the Redis it was given."""
    client = redis_client(RedisSettings(url=redis_url))
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)
    finally:
        client.close()


@dataclass
class _Wait:
    status: str = "complete"
    seconds: float = 0.0


def _wait(
    flow: _Flow,
    out: _Outputs,
    done: Callable[[], bool],
    *,
    stall_s: float,
    timeout_s: float,
    kills_at: list[float],
    progress: Callable[[], float],
) -> tuple[_Wait, int]:
    """Read outputs until `done()`; kill -9 and restart at each `kills_at` share of `progress()`."""
    started = last_change = time.monotonic()
    last_outputs = out.books.outputs
    kills = 0
    # Every kill asked for is made, even when the outputs are complete before its turn.
    while kills_at or not done():
        out.poll(0.5)
        flow.sample_rss()
        now = time.monotonic()
        if out.books.outputs != last_outputs:
            last_outputs, last_change = out.books.outputs, now
        if kills_at and (progress() >= kills_at[0] or done()):
            kills_at.pop(0)
            flow.kill()
            kills += 1
            flow.start()
            last_change = now
        elif not flow.alive():
            code = flow.proc.returncode if flow.proc else None
            return _Wait(
                f"flow exited with code {code} before the books balanced", now - started
            ), kills
        elif now - last_change > stall_s:
            return _Wait(f"stalled: nothing new for {stall_s:.0f} s", now - started), kills
        elif now - started > timeout_s:
            return _Wait(f"timed out after {timeout_s:.0f} s", now - started), kills
    return _Wait(seconds=time.monotonic() - started), kills


def bench_hostile_kafka(
    work: Path,
    bootstrap: str,
    *,
    hostile: int = 100_000,
    customers: int = 3000,
    days: float = 10.0,
    seed: int = 9,
    kill: int = 0,
    redis_url: str | None = None,
    stall_s: float = 120.0,
    timeout_s: float = 3600.0,
    client: ClientSection | None = None,
) -> dict[str, Any]:
    """`client` is the `kafka.client` section, given as is to the flow it starts."""
    corpus = build_corpus(work, hostile, customers, days, seed)
    tag = f"hostile-{uuid.uuid4().hex[:8]}"
    topics = {name: f"{tag}.{name}" for name in _NAMES}
    _create_topics(bootstrap, topics, client)
    rows = {k: corpus.rows[k] for k in ("payment", "login")}
    events = _produce(bootstrap, topics, rows, seed, client)
    books = Books(corpus, dict(events.expected))
    config = _config(work, bootstrap, topics, SimConfig().start, redis_url, client)
    flow = _Flow(config, work, bootstrap)
    out = _Outputs(bootstrap, topics, books, client)
    event_kinds = {"payment", "login"}
    n_event_hostile = books.expected_of(event_kinds)
    labels: _Sent | None = None
    try:
        flow.start()
        first, kills = _wait(
            flow,
            out,
            lambda: (
                books.valid_decided() == len(corpus.valid_ids)
                and books.hostile_dead_lettered(event_kinds) == n_event_hostile
            ),
            stall_s=stall_s,
            timeout_s=timeout_s,
            kills_at=[(i + 1) / (kill + 1) for i in range(kill)],
            progress=lambda: books.valid_decided() / max(1, len(corpus.valid_ids)),
        )
        second = _Wait("not run: the events did not balance")
        if first.status == "complete":
            feedback = [*corpus.rows["feedback"], (None, _last_label(corpus))]
            labels = _produce(bootstrap, topics, {"feedback": feedback}, seed + 1, client)
            books.expected.update(labels.expected)
            second, _ = _wait(
                flow,
                out,
                lambda: (
                    books.hostile_dead_lettered() == len(books.expected)
                    and len(books.late) == len(corpus.late_ids)
                ),
                stall_s=stall_s,
                timeout_s=timeout_s,
                kills_at=[],
                progress=lambda: 0.0,
            )
        exit_code = flow.stop()
        drained = out.drain()
    finally:
        if flow.alive():
            flow.stop(timeout=30)
        out.close()
        if redis_url:
            _forget(redis_url, tag)
    refused = events.refused + (labels.refused if labels else Counter())
    sent = events.messages + (labels.messages if labels else 0)
    status = first.status if first.status != "complete" else second.status
    crashes = flow.logged("Traceback (most recent call last)") + flow.logged("panicked at")
    return {
        "benchmark": "hostile (kafka)",
        "status": status,
        **books.figures(),
        "refused_by_the_broker": sum(refused.values()),
        "refused_categories": dict(refused.most_common()),
        "valid_refused_by_the_broker": events.valid_refused
        + (labels.valid_refused if labels else 0),
        "messages_produced": sent,
        "partitions": _PARTITIONS,
        "kills": kills,
        "flow_starts": len(flow.logs),
        "outputs_read_to_the_end": drained,
        "flow_exit_code": exit_code,
        "summary_printed": flow.logged("stopped by signal") > 0,
        "crashes": crashes + (exit_code != 0),
        "produce_events_seconds": round(events.seconds, 1),
        "events_seconds": round(first.seconds, 1),
        "events_per_second": round(events.messages / first.seconds) if first.seconds else 0,
        "labels_seconds": round(second.seconds, 1),
        "flow_peak_rss_mib": round(flow.peak_rss_kib / 1024) if flow.peak_rss_kib else None,
        "redis": bool(redis_url),
        "topics": tag,
    }
