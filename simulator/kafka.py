"""The simulated bank produced to Kafka at a target rate."""

from __future__ import annotations

import time

from confluent_kafka import Producer

from contract import topics as default_topics
from simulator.config import SimConfig
from simulator.stream import generate

__all__ = ["produce"]


def produce(
    config: SimConfig, bootstrap: str, *, rate: float | None, topics: dict[str, str] | None = None
) -> int:
    """Publish the stream (key = account id); `rate` in messages/s, None = as fast as possible."""
    names = {
        "payment": default_topics.PAYMENTS,
        "login": default_topics.LOGINS,
        "feedback": default_topics.FEEDBACK,
    } | (topics or {})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    started = time.perf_counter()
    sent = 0
    for record in generate(config):
        if rate:
            # Pace against the start, not the previous message, so jitter does not accumulate.
            pause = started + sent / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        while True:
            try:
                producer.produce(names[record.kind], record.payload, record.key.encode())
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain
        producer.poll(0)
        sent += 1
    producer.flush(60)
    return sent
