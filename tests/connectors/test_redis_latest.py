"""The Redis mirror keeps each account's latest event by event time, whatever the order."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from riskflow.connectors.metrics import REDIS_WRITES
from riskflow.connectors.redis_store import RedisSink
from riskflow.flows.config import RedisSettings
from tests.infra.verdicts import allowed

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def partition(url: str):
    return RedisSink(RedisSettings(url=url, key_prefix="latest")).build("redis_out", 0, 1)


def test_an_older_event_arriving_second_does_not_overwrite(redis_url, redis_client):
    part = partition(redis_url)
    part.write_batch([allowed("A1", "P2", T0 + timedelta(minutes=5), 20.0)])
    written = REDIS_WRITES._value.get()
    part.write_batch([allowed("A1", "P1", T0, 10.0)])
    key = "latest:account:A1"
    assert redis_client.hget(key, "features") == b'{"amount":20.0}'
    assert b'"event_id":"P2"' in redis_client.hget(key, "decision")
    assert REDIS_WRITES._value.get() == written
    assert redis_client.ttl(key) > 0

    # Not older (the same instant, written in another zone's notation): written.
    same = (T0 + timedelta(minutes=5)).astimezone(timezone(timedelta(hours=8)))
    part.write_batch([allowed("A1", "P3", same, 30.0)])
    assert redis_client.hget(key, "features") == b'{"amount":30.0}'
    part.write_batch([allowed("A1", "P4", T0 + timedelta(hours=1), 40.0)])
    assert redis_client.hget(key, "features") == b'{"amount":40.0}'
    assert float(redis_client.hget(key, "event_time")) == (T0 + timedelta(hours=1)).timestamp()
    part.close()


def test_another_process_writing_an_older_event_loses(redis_url, redis_client):
    newer, older = partition(redis_url), partition(redis_url)
    newer.write_batch([allowed("A2", "P9", T0 + timedelta(days=1), 90.0)])
    older.write_batch([allowed("A2", "P8", T0, 80.0), allowed("A3", "P7", T0, 70.0)])
    assert redis_client.hget("latest:account:A2", "features") == b'{"amount":90.0}'
    assert redis_client.hget("latest:account:A3", "features") == b'{"amount":70.0}'
    newer.close()
    older.close()


def test_within_one_batch_the_buffer_keeps_the_latest(redis_url, redis_client):
    part = partition(redis_url)
    part.write_batch(
        [allowed("A4", "P2", T0 + timedelta(minutes=1), 2.0), allowed("A4", "P1", T0, 1.0)]
    )
    assert redis_client.hget("latest:account:A4", "features") == b'{"amount":2.0}'
    part.close()


def test_the_script_is_loaded_again_after_a_script_flush(redis_url, redis_client):
    part = partition(redis_url)
    part.write_batch([allowed("A5", "P1", T0, 1.0)])
    redis_client.script_flush()
    part.write_batch([allowed("A5", "P2", T0 + timedelta(minutes=1), 2.0)])
    assert redis_client.hget("latest:account:A5", "features") == b'{"amount":2.0}'
    part.close()


def test_the_record_carries_the_history_digest_of_its_event(redis_url, redis_client):
    part = partition(redis_url)
    newer = dataclasses.replace(allowed("A9", "P2", T0 + timedelta(minutes=5)), history="b2" * 8)
    older = dataclasses.replace(allowed("A9", "P1", T0), history="a1" * 8)
    part.write_batch([newer])
    part.write_batch([older])
    # The history is the newest event's, like every other field of the record.
    assert redis_client.hget("latest:account:A9", "history") == b"b2" * 8
    part.close()
