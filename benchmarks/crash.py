"""`riskflow bench crash`: `kill -9` the live flow again and again mid-stream; balance the books.

A simulated bank (payments, logins and their labels, in event-time order) is produced at a
steady pace to fresh Kafka topics, keyed by account, while `riskflow run` consumes it as a
subprocess with recovery, Kafka output, the Redis mirror and `models.backend: redis`. At
seeded random moments, one in each equal slice of the run, the flow's whole process group
gets SIGKILL and is started again after a short random pause. Once everything produced has
been decided the flow is stopped with SIGTERM. The same stream then goes through a clean
run (fresh topics, fresh Redis prefix, no kills), and the books compare the two:

- every payment and login decided at least once, or dead-lettered (0 lost);
- every decision published more than once byte-identical to its first copy;
- for every account whose Redis record has the same history digest in both runs (the
  same payments, logins and labels absorbed in the same order), its own features in Redis
  equal the clean run's (a window counted twice would differ). The features of the
  cross-account stages (per IP, device, payee, terminal) are reported, not compared: they
  also count other accounts' events, and which of those a stage reads first after a
  restart is up to the consumer;
- each restarted process's decisions by model version: models come back from Redis.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import redis
import yaml
from confluent_kafka import Consumer, Producer, TopicPartition

from riskflow.connectors.kafka import ensure_topics
from riskflow.connectors.kafka_client import ClientSection, client_config
from riskflow.connectors.models_redis import RedisModelStore
from riskflow.connectors.redis_client import RedisSettings, redis_client
from riskflow.connectors.redis_store import account_key
from riskflow.features.catalog import entity_of
from riskflow.scoring.models.signing import SnapshotSigner
from riskflow.simulator.config import SimConfig
from riskflow.simulator.emitter import SimRecord
from riskflow.simulator.stream import generate

__all__ = ["bank_stream", "bench_crash"]

_NAMES = ("payments", "logins", "feedback", "decisions", "alerts", "deadletter")
_TOPIC_OF = {"payment": "payments", "login": "logins", "feedback": "feedback"}


class _Event(msgspec.Struct):
    event_id: str
    account_id: str


class _Decision(msgspec.Struct):
    event_id: str
    account_id: str
    model_version: str


class _Dead(msgspec.Struct):
    reason: str
    payload: str
    payload_encoding: str


@dataclass
class _Process:
    started: float
    killed: float | None = None
    champion_before_kill: str | None = None


@dataclass
class _Run:
    name: str
    topics: dict[str, str]
    prefix: str
    processes: list[_Process] = field(default_factory=list)
    exit_code: int | None = None
    seconds: float = 0.0
    stalled: bool = False


def bank_stream(events: int, customers: int, seed: int) -> list[SimRecord]:
    """The bank's first `events` payments and logins, with the labels among them."""
    out: list[SimRecord] = []
    scored = 0
    for rec in generate(SimConfig(seed=seed, customers=customers, days=3650.0)):
        if rec.kind != "feedback":
            if scored == events:
                break
            scored += 1
        out.append(rec)
    return out


def _create_topics(
    bootstrap: str, tag: str, partitions: int, client: ClientSection | None
) -> dict[str, str]:
    topics = {name: f"{tag}.{name}" for name in _NAMES}
    names = list(topics.values())
    ensure_topics(bootstrap, names, partitions=partitions, replication_factor=1, client=client)
    topics["notifications"] = f"{tag}.notifications"
    return topics


_KEY_ENV = "RISKFLOW_SNAPSHOT_KEY"
_KEY = secrets.token_hex(32)
"""One key for the whole benchmark: every restart verifies what the last one signed."""


def _write_config(
    work: Path,
    run: _Run,
    bootstrap: str,
    redis_url: str,
    interval: float,
    client: ClientSection | None,
) -> Path:
    config = work / f"{run.name}.yaml"
    settings = {
        "input": {"type": "kafka"},
        "output": {"type": "kafka"},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "topics": run.topics,
            "client": dict(client or {}),
        },
        "redis": {"url": redis_url, "key_prefix": run.prefix},
        # Snapshots often enough that most restarts have a model to come back to.
        "models": {"backend": "redis", "every_labels": 200, "signing_key_env": _KEY_ENV},
        "metrics": {"enabled": False},
        "recovery": {
            "directory": str(work / f"{run.name}-recovery"),
            "snapshot_interval_s": interval,
        },
    }
    config.write_text(yaml.safe_dump(settings))
    return config


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    # The file's addresses, not the caller's environment, which would override them.
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    env[_KEY_ENV] = _KEY
    with open(log, "ab") as out:
        # Its own session, so that one killpg reaches whatever the flow spawns.
        return subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _produce(
    bootstrap: str,
    topics: dict[str, str],
    records: list[SimRecord],
    rate: float,
    client: ClientSection | None,
) -> threading.Thread:
    def pace() -> None:
        producer = Producer(
            client_config(bootstrap, client, {"linger.ms": "5", "enable.idempotence": "true"})
        )
        start = time.monotonic()
        for i, rec in enumerate(records):
            ahead = start + i / rate - time.monotonic()
            if ahead > 0.002:
                time.sleep(ahead)
            producer.produce(topics[_TOPIC_OF[rec.kind]], rec.payload, rec.key.encode())
            producer.poll(0)
        if producer.flush(60):
            raise RuntimeError("the producer could not deliver the whole stream")

    thread = threading.Thread(target=pace, name="paced-producer", daemon=True)
    thread.start()
    return thread


class _Watch:
    """Counts what the flow has answered so far, in a thread: decisions and dead letters."""

    def __init__(
        self,
        bootstrap: str,
        topics: dict[str, str],
        wanted: set[str],
        client: ClientSection | None,
    ) -> None:
        self._wanted = wanted
        self.answered: set[str] = set()
        self.last_at = time.monotonic()
        self.newest_at = 0.0
        """When the newest decision seen was produced: which process is deciding."""
        self._stop = threading.Event()
        self._consumer = Consumer(
            client_config(
                bootstrap,
                client,
                {
                    "group.id": f"crash-watch-{uuid.uuid4().hex[:8]}",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": "false",
                },
            )
        )
        self._consumer.subscribe([topics["decisions"], topics["deadletter"]])
        self._dead_topic = topics["deadletter"]
        self._thread = threading.Thread(target=self._loop, name="watch", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, 0.2):
                value = msg.value()
                if msg.error() is not None or value is None:
                    continue
                self.last_at = time.monotonic()
                if msg.topic() == self._dead_topic:
                    eid = _dead_event_id(value)
                else:
                    eid = msgspec.json.decode(value, type=_Event).event_id
                    self.newest_at = max(self.newest_at, msg.timestamp()[1] / 1000.0)
                if eid is not None:
                    self.answered.add(eid)
        self._consumer.close()

    @property
    def missing(self) -> int:
        return len(self._wanted - self.answered)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _dead_event_id(value: bytes) -> str | None:
    dead = msgspec.json.decode(value, type=_Dead)
    if dead.payload_encoding != "utf-8":
        return None
    try:
        return msgspec.json.decode(dead.payload, type=_Event).event_id
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _kill_moments(rng: random.Random, kills: int, duration: float) -> list[float]:
    # One in each equal slice of the middle of the run: random, yet spread over all of it.
    if kills == 0:
        return []
    lo, hi = 0.05 * duration, 0.95 * duration
    slot = (hi - lo) / kills
    return [lo + (i + rng.random()) * slot for i in range(kills)]


def _execute(
    run: _Run,
    work: Path,
    bootstrap: str,
    redis_url: str,
    records: list[SimRecord],
    wanted: set[str],
    *,
    rate: float,
    kills: int,
    rng: random.Random,
    interval: float,
    max_pause_s: float,
    quiet_s: float,
    client: ClientSection | None,
) -> None:
    config = _write_config(work, run, bootstrap, redis_url, interval, client)
    log = work / f"{run.name}.log"
    store = RedisModelStore(
        redis_client(RedisSettings(url=redis_url)),
        run.prefix,
        signer=SnapshotSigner([_KEY.encode()]),
    )
    watch = _Watch(bootstrap, run.topics, wanted, client)
    began = time.monotonic()
    flow = _start(config, log)
    run.processes.append(_Process(started=time.time()))
    producer = _produce(bootstrap, run.topics, records, rate, client)
    try:
        for at in _kill_moments(rng, kills, len(records) / rate):
            time.sleep(max(0.0, began + at - time.monotonic()))
            # A kill before the process decided anything would only test its start-up again.
            deciding = time.monotonic() + 120
            while watch.newest_at < run.processes[-1].started and time.monotonic() < deciding:
                time.sleep(0.1)
            newest = store.newest("champion")
            os.killpg(flow.pid, signal.SIGKILL)
            flow.wait(timeout=30)
            run.processes[-1].killed = time.time()
            run.processes[-1].champion_before_kill = newest[0] if newest else None
            time.sleep(rng.uniform(0.0, max_pause_s))
            flow = _start(config, log)
            run.processes.append(_Process(started=time.time()))
        producer.join()
        # Caught up once every event is answered; a flow answering nothing for quiet_s stalled.
        watch.last_at = time.monotonic()
        while watch.missing and time.monotonic() - watch.last_at < quiet_s:
            time.sleep(0.5)
        run.stalled = bool(watch.missing)
        # Repeats of the last epoch's events, if any, are on their way: let them arrive.
        time.sleep(min(quiet_s, 2 * interval))
    finally:
        flow.send_signal(signal.SIGTERM)
        try:
            run.exit_code = flow.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(flow.pid, signal.SIGKILL)
            run.exit_code = flow.wait(timeout=30)
        watch.close()
    run.seconds = time.monotonic() - began


def _read_all(
    bootstrap: str, topic: str, client: ClientSection | None
) -> list[list[tuple[bytes, float]]]:
    """Every message of a topic with the time it was produced, per partition in offset order."""
    consumer = Consumer(
        client_config(
            bootstrap,
            client,
            {"group.id": f"crash-books-{uuid.uuid4().hex[:8]}", "enable.auto.commit": "false"},
        )
    )
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    out: list[list[tuple[bytes, float]]] = []
    for p in sorted(meta.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        consumer.assign([TopicPartition(topic, p, low)])
        got: list[tuple[bytes, float]] = []
        deadline = time.monotonic() + 120
        while low + len(got) < high and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 1.0):
                value = msg.value()
                if msg.error() is None and value is not None:
                    got.append((value, msg.timestamp()[1] / 1000.0))
        out.append(got)
    consumer.close()
    return out


def _process_of(starts: list[float], produced_at: float) -> int:
    return max((k for k, s in enumerate(starts) if s <= produced_at), default=0)


def _made(
    partitions: list[list[tuple[bytes, float]]], starts: list[float]
) -> list[tuple[int, _Decision]]:
    """Every decision with the process that published it (by when it was produced)."""
    return [
        (_process_of(starts, produced_at), msgspec.json.decode(value, type=_Decision))
        for part in partitions
        for value, produced_at in part
    ]


def _record(client: redis.Redis, prefix: str, account: str) -> tuple[bytes, dict[str, Any]] | None:
    """The account's history digest and features in Redis, or None without a record."""
    held: Any = client.hmget(account_key(prefix, account), ["history", "features"])
    history, features = held
    if features is None:
        return None
    return bytes(history or b""), msgspec.json.decode(features)


def _per_process(run: _Run, made: list[tuple[int, _Decision]]) -> list[dict[str, Any]]:
    """Decisions by the process that published them."""
    mine: list[list[_Decision]] = [[] for _ in run.processes]
    for k, d in made:
        mine[k].append(d)
    rows = []
    for i, (proc, decisions) in enumerate(zip(run.processes, mine, strict=True)):
        versions = Counter(d.model_version for d in decisions)
        rows.append(
            {
                "process": i,
                "decisions": len(decisions),
                "champion_in_redis_at_start": (
                    run.processes[i - 1].champion_before_kill if i else None
                ),
                "newest_model_version": max(
                    (v for v in versions if v != "rules-only"), key=_version_number, default=None
                ),
                "rules_only": versions.get("rules-only", 0),
                "killed": proc.killed is not None,
            }
        )
    return rows


def _version_number(version: str) -> int:
    tail = version.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _delete_prefix(client: redis.Redis, prefix: str) -> None:
    batch: list[Any] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)


def bench_crash(
    bootstrap: str,
    redis_url: str,
    work: Path,
    *,
    events: int = 200_000,
    customers: int = 20_000,
    rate: float = 1500.0,
    kills: int = 10,
    snapshot_interval_s: float = 3.0,
    max_pause_s: float = 2.0,
    partitions: int = 3,
    seed: int = 12,
    quiet_s: float = 60.0,
    keep: bool = False,
    kafka_client: ClientSection | None = None,
) -> dict[str, Any]:
    """A crash run with `kills` SIGKILLs and a clean run of the same stream; their books.

    `kafka_client` is the `kafka.client` section, given as is to the flows it starts."""
    records = bank_stream(events, customers, seed)
    inputs: dict[str, str] = {}
    for rec in records:
        if rec.kind != "feedback":
            e = msgspec.json.decode(rec.payload, type=_Event)
            inputs[e.event_id] = e.account_id
    wanted = set(inputs)
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    runs = {
        name: _Run(
            name,
            _create_topics(bootstrap, f"crash-{tag}-{name}", partitions, kafka_client),
            f"cr{tag}{name}",
        )
        for name in ("crash", "clean")
    }
    for name, run in runs.items():
        _execute(
            run,
            work,
            bootstrap,
            redis_url,
            records,
            wanted,
            rate=rate,
            kills=kills if name == "crash" else 0,
            rng=rng,
            interval=snapshot_interval_s,
            max_pause_s=max_pause_s,
            quiet_s=quiet_s,
            client=kafka_client,
        )

    crash, clean = runs["crash"], runs["clean"]
    crash_parts = _read_all(bootstrap, crash.topics["decisions"], kafka_client)
    crash_made = _made(crash_parts, [p.started for p in crash.processes])
    clean_made = _made(
        _read_all(bootstrap, clean.topics["decisions"], kafka_client),
        [p.started for p in clean.processes],
    )

    first: dict[str, bytes] = {}
    copies: Counter[str] = Counter()
    differing: set[str] = set()
    for part in crash_parts:
        for value, _ in part:
            eid = msgspec.json.decode(value, type=_Event).event_id
            copies[eid] += 1
            if eid not in first:
                first[eid] = value
            elif value != first[eid]:
                differing.add(eid)

    dead_ids: set[str] = set()
    reasons: Counter[str] = Counter()
    for part in _read_all(bootstrap, crash.topics["deadletter"], kafka_client):
        for value, _ in part:
            reasons[msgspec.json.decode(value, type=_Dead).reason] += 1
            dead_id = _dead_event_id(value)
            if dead_id is not None:
                dead_ids.add(dead_id)
    decided = set(first)

    client = redis_client(RedisSettings(url=redis_url))
    compared = equal = excluded = 0
    different: list[str] = []
    fields: Counter[str] = Counter()
    cross_fields: Counter[str] = Counter()
    examples: dict[str, dict[str, tuple[Any, Any]]] = {}
    for account in sorted(set(inputs.values())):
        mine, theirs = (
            _record(client, crash.prefix, account),
            _record(client, clean.prefix, account),
        )
        if mine is None and theirs is None:
            continue
        # Which of an account's payments, logins and labels the flow reads first is up to
        # the consumer (three topics; a backlog after a restart drains each at its own pace).
        # Equal history digests say both runs absorbed the same messages in the same order:
        # then every feature must be equal, and a window counted twice would not be.
        if mine is None or theirs is None or mine[0] != theirs[0]:
            excluded += 1
            continue
        compared += 1
        differ = sorted(
            k for k in set(mine[1]) | set(theirs[1]) if mine[1].get(k) != theirs[1].get(k)
        )
        crossed = [k for k in differ if entity_of(k) != "account"]
        cross_fields.update(crossed)
        differ = [k for k in differ if entity_of(k) == "account"]
        if not differ:
            equal += 1
            continue
        different.append(account)
        fields.update(differ)
        if len(examples) < 3:
            examples[account] = {k: (mine[1].get(k), theirs[1].get(k)) for k in differ}
    if not keep:
        for run in runs.values():
            _delete_prefix(client, run.prefix)
    client.close()

    processes = _per_process(crash, crash_made)
    return {
        "benchmark": "crash",
        "events": len(wanted),
        "labels": len(records) - len(wanted),
        "rate": rate,
        "kills": len(crash.processes) - 1,
        "restarts_that_decided": sum(1 for p in processes[1:] if p["decisions"] > 0),
        "crash_run_exit_code": crash.exit_code,
        "crash_run_stalled": crash.stalled,
        "crash_run_seconds": round(crash.seconds, 1),
        "clean_run_exit_code": clean.exit_code,
        "clean_run_seconds": round(clean.seconds, 1),
        "decided": len(wanted & decided),
        "dead_lettered_not_decided": len((wanted & dead_ids) - decided),
        "lost": len(wanted - decided - dead_ids),
        "decisions_published": sum(copies.values()),
        "decided_more_than_once": sum(1 for n in copies.values() if n > 1),
        "duplicate_copies": sum(n - 1 for n in copies.values() if n > 1),
        "duplicates_not_identical": len(differing),
        "decisions_for_no_input": len(decided - wanted),
        "dead_letter_reasons": dict(reasons.most_common()),
        "accounts": len(set(inputs.values())),
        "accounts_same_history": compared,
        "accounts_equal": equal,
        "accounts_different": len(different),
        "accounts_other_history": excluded,
        "features_that_differ": dict(fields.most_common()),
        "cross_account_features_that_differ": dict(cross_fields.most_common()),
        "different_examples (crash, clean)": examples,
        "rules_only_crash_run": sum(1 for _, d in crash_made if d.model_version == "rules-only"),
        "rules_only_clean_run": sum(1 for _, d in clean_made if d.model_version == "rules-only"),
        "processes": processes,
        "clean_run_decided": len(wanted & {d.event_id for _, d in clean_made}),
    }
