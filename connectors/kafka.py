"""Kafka in and out.

Inbound topics become `Raw` messages tagged with the contract they must meet
(see `connectors.kafka_source`); outbound records carry their own topic so one
producer per process serves decisions, alerts and dead letters, flushed once an epoch
(see `connectors.kafka_sink`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

import msgspec
from bytewax.connectors.kafka import KafkaSinkMessage
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from riskflow.connectors.kafka_client import ClientValue, client_config
from riskflow.connectors.kafka_sink import EpochFlushedSink
from riskflow.connectors.kafka_source import KafkaInbound
from riskflow.connectors.reachable import wait_until
from riskflow.contract import topics

__all__ = [
    "KafkaRefused",
    "KafkaSettings",
    "KafkaUnreachable",
    "MissingTopics",
    "TopicNames",
    "ensure_topics",
    "inbound_source",
    "outbound_sink",
    "prepare_topics",
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

    def inbound(self) -> list[str]:
        return [self.payments, self.logins, self.feedback]

    def outbound(self) -> list[str]:
        return [self.decisions, self.alerts, self.deadletter, self.notifications]


class KafkaSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    bootstrap_servers: str = "127.0.0.1:9092"
    client: dict[str, ClientValue] = {}
    """librdkafka properties of every client riskflow creates (security.protocol, sasl.*,
    ssl.*); `KEY_env: VAR` and `KEY_file: PATH` read KEY's value from elsewhere
    (`connectors.kafka_client`)."""
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
    create_topics: bool = True
    """Create the topics the flow reads and writes at start when they do not exist; when
    false, a missing topic stops the start with an error naming it."""
    partitions: int = 3
    """Partitions of a topic created at start (existing topics are left as they are)."""
    replication_factor: int = -1
    """Replicas of a topic created at start; -1 takes the broker's default."""

    def client_config(self, *overrides: Mapping[str, object]) -> dict[str, Any]:
        """A client's configuration on these brokers: see `kafka_client.client_config`."""
        return client_config(self.bootstrap_servers, self.client, *overrides)


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
    # Prefetched messages wait in librdkafka's memory, per partition, until the flow reads
    # them; behind a backlog its defaults (100,000 messages or 64 MB a partition) grow the
    # process by hundreds of MB outside Python. A few seconds of traffic is enough.
    "queued.min.messages": "20000",
    "queued.max.messages.kbytes": "8192",
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
        client=settings.client,
        config=_CONSUMER_DEFAULTS | settings.consumer,
    )


def outbound_sink(settings: KafkaSettings, process_id: int = 0) -> EpochFlushedSink:
    config = settings.client_config(_PRODUCER_DEFAULTS, settings.producer)
    return EpochFlushedSink(config, process_id)


def sink_message(topic: str, key: str, value: bytes) -> KafkaSinkMessage:
    return KafkaSinkMessage(key.encode(), value, topic=topic)


def ensure_topics(
    bootstrap: str,
    names: list[str],
    *,
    partitions: int = 1,
    replication_factor: int = -1,
    config: dict[str, str] | None = None,
    client: Mapping[str, ClientValue] | None = None,
) -> None:
    """Create topics that do not exist yet and wait until they have leaders; existing ones
    stay as they are. `config` is topic configuration for the ones created, `client` the
    `kafka.client` section to connect with."""
    # Failures are raised; librdkafka's own log of each retry would only repeat them.
    admin = AdminClient(client_config(bootstrap, client, {"log_level": 0}))
    new = [NewTopic(n, partitions, replication_factor, config=config or {}) for n in names]
    for future in admin.create_topics(new).values():
        try:
            future.result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    _wait_for_leaders(admin, names)


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout_s: float = 30.0) -> None:
    # A created topic is not usable at once: until its partitions have leaders, metadata
    # answers "unknown topic" to the consumer or producer that asks first.
    deadline = time.monotonic() + timeout_s
    waiting = set(names)
    while waiting:
        found = admin.list_topics(timeout=10).topics
        for name in list(waiting):
            topic = found.get(name)
            if topic is None or topic.error is not None or not topic.partitions:
                continue
            if all(p.leader >= 0 for p in topic.partitions.values()):
                waiting.discard(name)
        if waiting:
            if time.monotonic() > deadline:
                raise KafkaException(
                    KafkaError(
                        KafkaError._TIMED_OUT, f"no leaders for {', '.join(sorted(waiting))}"
                    )
                )
            time.sleep(0.1)


class MissingTopics(RuntimeError):
    """Topics the flow needs are absent and could not (or may not) be created."""


def prepare_topics(settings: KafkaSettings, names: list[str]) -> list[str]:
    """Make sure every topic in `names` exists; returns the ones created.

    Raises MissingTopics naming the absent topics when `create_topics` is off or the
    broker refuses to create them (no permission, a replication factor it cannot meet).
    """
    # Checked before the flow starts: a consumer subscribed to an absent topic, or a
    # producer writing to one, fails deep inside a worker with nothing an operator can read.
    admin = AdminClient(settings.client_config({"log_level": 0}))
    try:
        existing = set(admin.list_topics(timeout=settings.connect_timeout_s).topics)
    except KafkaException as exc:
        raise MissingTopics(f"cannot list Kafka topics: {_reason(exc)}") from None
    missing = [n for n in dict.fromkeys(names) if n not in existing]
    if not missing:
        return []
    if not settings.create_topics:
        raise MissingTopics(
            f"Kafka has no topic {', '.join(missing)} and kafka.create_topics is false: "
            "create them or set it to true"
        )
    try:
        ensure_topics(
            settings.bootstrap_servers,
            missing,
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            client=settings.client,
        )
    except KafkaException as exc:
        raise MissingTopics(
            f"cannot create Kafka topic(s) {', '.join(missing)}: {_reason(exc)}"
        ) from None
    return missing


def _reason(exc: KafkaException) -> str:
    return exc.args[0].str() if exc.args and isinstance(exc.args[0], KafkaError) else str(exc)


class KafkaUnreachable(ConnectionError):
    """No broker answered within the start-up timeout; the message names the address."""


class KafkaRefused(ConnectionError):
    """A broker answered but refused the credentials of `kafka.client`; retrying won't help."""


def wait_for_kafka(
    bootstrap: str,
    timeout_s: float,
    *,
    client: Mapping[str, ClientValue] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> None:
    """Return once a broker answers a metadata request, retrying with backoff up to timeout_s."""
    errors: list[KafkaError] = []
    # librdkafka would log every refused connection to stderr; the caller reports instead.
    # Its errors still arrive here: a failed metadata request says only "transport failure"
    # where the connection's own error names the refused login or the untrusted certificate.
    admin = AdminClient(
        client_config(bootstrap, client, {"log_level": 0, "error_cb": errors.append})
    )

    def probe(step: float) -> str | None:
        try:
            return None if admin.list_topics(timeout=step).brokers else "no broker"
        except KafkaException as exc:
            errors.clear()
            admin.poll(0)
            for error in errors:
                if error.code() == KafkaError._AUTHENTICATION:
                    raise KafkaRefused(
                        f"Kafka at {bootstrap} refused the login of kafka.client: {error.str()}"
                    ) from None
            named = [e for e in errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
            if named:
                return named[-1].str()
            return exc.args[0].str() if exc.args else str(exc)

    wait_until(
        probe,
        what=f"Kafka at {bootstrap}",
        timeout_s=timeout_s,
        unreachable=KafkaUnreachable,
        waiting=waiting,
    )
