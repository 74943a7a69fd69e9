"""A decision re-made after a crash goes out as it was first published, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
import redis

from riskflow.connectors.published_redis import PublishedDecisions
from riskflow.features.account import FeatureConfig
from riskflow.scoring.redelivery import DecisionMemory
from tests.infra.verdicts import allowed

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_replayed_decision_is_the_first_one_and_new_ones_are_stored(redis_client):
    store = PublishedDecisions(redis_client, "pub", ttl_s=60)
    first = allowed("A1", "P1", T0, 10.0, ts="2026-12-01T10:00:00.000+00:00", latency_ms=0.4)
    [settled] = store.settle([first])
    assert settled is first
    stored = redis_client.get("pub:published:P1")
    assert stored == msgspec.json.encode(first.decision)
    assert 0 < redis_client.ttl("pub:published:P1") <= 60

    # The replay after a restart: same event, decided again later by another process.
    again = allowed("A1", "P1", T0, 10.0, ts="2026-12-01T10:00:09.250+00:00", latency_ms=812.5)
    other = allowed("A1", "P2", T0, 12.0, ts="2026-12-01T10:00:09.251+00:00", latency_ms=3.0)
    replayed, new = store.settle([again, other])
    assert replayed.decision == first.decision
    assert replayed.features == again.features
    assert new is other
    # What the decision memory publishes is the stored bytes themselves.
    memory = DecisionMemory(FeatureConfig())
    sent, _ = memory.on_batch([replayed])
    assert sent[0].body == stored


def test_without_redis_verdicts_pass_as_decided():
    dead = redis.Redis(port=1, socket_connect_timeout=0.05, socket_timeout=0.05)
    store = PublishedDecisions(dead, "pub", ttl_s=60)
    verdict = allowed("A1", "P1", T0, 10.0)
    assert store.settle([verdict]) == [verdict]
