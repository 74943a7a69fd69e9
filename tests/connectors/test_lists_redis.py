"""Risk lists in a real redis-server, followed on a real Kafka control topic."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from riskflow.connectors.kafka_client import client_config
from riskflow.connectors.lists_redis import ListsControl, RedisLists, RedisListStore
from riskflow.contract.messages import Payment
from riskflow.scoring.lists.entries import ListChange, ListEntry

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def entry(kind: str, entity: str, value: str, **kw) -> ListEntry:
    return ListEntry(
        entity=entity,  # type: ignore[arg-type]
        value=value,
        kind=kind,  # type: ignore[arg-type]
        reason=kw.pop("reason", "mule account"),
        source=kw.pop("source", "police"),
        created_by=kw.pop("created_by", "analyst-7"),
        created_at=NOW,
        **kw,
    )


def transfer_to(payee: str) -> Payment:
    return Payment(
        event_id=f"P-{uuid.uuid4().hex[:6]}",
        ts=NOW,
        account_id="A1",
        amount=100.0,
        channel="mobile",
        txn_type="transfer",
        payee_account=payee,
    )


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@pytest.fixture
def store(redis_client) -> RedisListStore:
    return RedisListStore(redis_client, prefix=f"t{uuid.uuid4().hex[:6]}")


@pytest.fixture
def topic() -> str:
    return f"lists-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def follower_factory(store, kafka_bootstrap, topic) -> Iterator[Callable[..., RedisLists]]:
    made: list[RedisLists] = []

    def make(**kw) -> RedisLists:
        lists = RedisLists(store, bootstrap=kafka_bootstrap, topic=topic, **kw)
        made.append(lists)
        return lists

    yield make
    for lists in made:
        lists.close()


def denied(lists: RedisLists, payee: str) -> bool:
    return bool(lists.screen(transfer_to(payee), {}, time.time()).deny)


def test_audit_keeps_every_change_in_order(store):
    store.add(entry("deny", "payee", "M1"), actor="alice", why="police report 1")
    store.add_many(
        [entry("watch", "device", "D1"), entry("deny", "ip", "10.0.0.0/8")],
        actor="bob",
        why="partner feed",
    )
    assert store.remove("deny:payee:M1", actor="carol", why="cleared by branch")
    assert not store.remove("deny:payee:M1", actor="carol", why="twice")  # nothing to audit

    records = store.audit()
    assert [(r["op"], r["entry_id"], r["actor"], r["why"]) for r in records] == [
        ("add", "deny:payee:M1", "alice", "police report 1"),
        ("add", "watch:device:D1", "bob", "partner feed"),
        ("add", "deny:ip:10.0.0.0/8", "bob", "partner feed"),
        ("remove", "deny:payee:M1", "carol", "cleared by branch"),
    ]
    # The removal record carries the entry as it was, so the audit alone tells what was lifted.
    assert '"value":"M1"' in records[-1]["entry"]
    assert [r["id"] for r in store.audit(last=2)] == [r["id"] for r in records[-2:]]
    assert {e.id for e in store.all()} == {"watch:device:D1", "deny:ip:10.0.0.0/8"}


def test_a_follower_loads_redis_then_applies_changes_from_the_topic(
    store, kafka_bootstrap, topic, follower_factory
):
    store.add(entry("deny", "payee", "OLD"), actor="a", why="w")
    lists = follower_factory()
    assert denied(lists, "OLD")  # loaded at start

    control = ListsControl(kafka_bootstrap, topic)
    new = entry("deny", "payee", "NEW")
    store.add(new, actor="a", why="w")
    control.publish(ListChange(op="add", entry=new))
    assert wait_until(lambda: denied(lists, "NEW"))

    store.remove(new.id, actor="a", why="w")
    control.publish(ListChange(op="remove", entry_id=new.id))
    assert wait_until(lambda: not denied(lists, "NEW"))

    # A bulk import announces one sync; the follower reloads everything from Redis.
    store.add_many([entry("deny", "payee", f"BULK{i}") for i in range(500)], actor="a", why="w")
    control.publish(ListChange(op="sync"))
    assert wait_until(lambda: denied(lists, "BULK499"))
    assert denied(lists, "OLD")


def test_expiry_is_immediate_and_the_sweep_audits_it_once(store, follower_factory):
    soon = entry("deny", "payee", "BRIEF", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    store.add(soon, actor="a", why="w")
    # Two processes sweep the same Redis: the expiry must be audited exactly once.
    first = follower_factory(sweep_interval_s=0.2)
    second = follower_factory(sweep_interval_s=0.2)
    assert denied(first, "BRIEF") and denied(second, "BRIEF")
    late = time.time() + 1.5
    assert not first.screen(transfer_to("BRIEF"), {}, late).deny  # no restart, no sweep needed

    assert wait_until(lambda: not store.all(), timeout=5)
    time.sleep(0.5)  # the slower sweeper has had its turn
    ops = [(r["op"], r["entry_id"], r["why"]) for r in store.audit()]
    assert ops == [("add", soon.id, "w"), ("expire", soon.id, "expired")]


def test_a_malformed_change_is_skipped_and_following_continues(
    store, kafka_bootstrap, topic, follower_factory
):
    from confluent_kafka import Producer

    lists = follower_factory()
    producer = Producer(client_config(kafka_bootstrap))
    producer.produce(topic, b"{not json")
    producer.flush(10)
    good = entry("deny", "payee", "AFTER")
    store.add(good, actor="a", why="w")
    ListsControl(kafka_bootstrap, topic).publish(ListChange(op="add", entry=good))
    assert wait_until(lambda: denied(lists, "AFTER"))
