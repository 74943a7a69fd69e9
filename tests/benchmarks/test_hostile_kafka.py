"""The hostile corpus through real Kafka to `riskflow run`, on a small bank: the books balance."""

from __future__ import annotations

import random

import pytest

from riskflow.benchmarks.hostile_kafka import bench_hostile_kafka, message_key
from riskflow.simulator.hostile import CATEGORIES, LATE

pytestmark = pytest.mark.integration


def test_every_valid_event_decided_once_and_every_hostile_message_dead_lettered_once(
    tmp_path, kafka_bootstrap
):
    result = bench_hostile_kafka(
        tmp_path, kafka_bootstrap, hostile=2000, customers=100, days=3.0, stall_s=60
    )
    assert result["status"] == "complete"
    assert result["categories"] == len(CATEGORIES)
    assert result["valid_events"] > 200
    assert result["valid_decided_once"] == result["valid_events"]
    assert result["decided_more_than_once"] == 0
    assert result["decisions_for_no_valid_event"] == 0
    # Every hostile message but the labels for unknown events is dead-lettered at its offset.
    assert result["refused_by_the_broker"] == 0
    assert result["hostile_expected"] == 2000 - result["late_labels"]
    assert result["hostile_dead_lettered_once"] == result["hostile_expected"]
    assert result["hostile_dead_lettered_more_than_once"] == 0
    assert result["dead_letters_for_valid_messages"] == 0
    assert result["dead_letters_without_reason"] == 0
    assert result["dead_letters_without_source"] == 0
    assert result["late_labels"] > 0
    assert result["late_labels_dead_lettered"] == result["late_labels"]
    assert result["late_labels_dead_lettered_more_than_once"] == 0
    assert result["valid_labels_dead_lettered_unmatched"] == 0
    # Stopped by SIGTERM like a container: a clean exit, its summary, no traceback.
    assert result["flow_exit_code"] == 0
    assert result["summary_printed"]
    assert result["crashes"] == 0


def test_hostile_messages_are_keyed_by_no_key_empty_garbage_or_the_account_they_name():
    rng = random.Random(1)
    payload = b'{"event_id":"H1","account_id":"HA3","amount":"12.50"}'
    keys = {message_key(rng, "payment/wrong_type", payload) for _ in range(200)}
    assert None in keys and b"" in keys and b"HA3" in keys
    assert any(k not in (None, b"", b"HA3") for k in keys)
    # A valid event always goes by its account, so each account's order holds.
    assert {message_key(rng, None, payload) for _ in range(50)} == {b"HA3"}
    # Nothing to read an account from: never that account's key.
    assert b"HA3" not in {message_key(rng, sorted(LATE)[0], b"[[[") for _ in range(50)}


def test_killed_twice_and_restarted_with_redis_repeats_are_the_first_bytes(
    tmp_path, kafka_bootstrap, redis_url
):
    result = bench_hostile_kafka(
        tmp_path,
        kafka_bootstrap,
        hostile=1000,
        customers=100,
        days=3.0,
        kill=2,
        redis_url=redis_url,
        stall_s=60,
    )
    assert result["status"] == "complete"
    assert (result["kills"], result["flow_starts"]) == (2, 3)
    assert result["valid_not_decided"] == 0
    assert result["decisions_for_no_valid_event"] == 0
    # A replayed epoch may repeat an output; a decision only as the very bytes first sent.
    assert result["decision_repeats_not_byte_identical"] == 0
    assert result["hostile_not_dead_lettered"] == 0
    assert result["dead_letter_repeats_otherwise_different"] == 0
    assert result["dead_letters_for_valid_messages"] == 0
    assert result["late_labels_dead_lettered"] == result["late_labels"]
    assert result["valid_labels_dead_lettered_unmatched"] == 0
    assert (result["flow_exit_code"], result["crashes"]) == (0, 0)
