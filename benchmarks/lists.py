"""Risk lists: bulk import, load at start, screening cost per event, change propagation.

Import and propagation run against a real Redis and Kafka, the path the
`riskflow lists` command and the flow's follower take. Screening cost is the
difference between screening realistic events against 100,000 entries and
against an empty list, so it is what the lists add to each decision.
"""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskflow.connectors.kafka_client import ClientSection
from riskflow.connectors.lists_redis import ListsControl, RedisLists, RedisListStore, import_csv
from riskflow.connectors.redis_client import RedisSettings, redis_client
from riskflow.contract.messages import Login, Payment
from riskflow.scoring.lists.csvfile import read_entries
from riskflow.scoring.lists.entries import ListChange, ListEntry
from riskflow.scoring.lists.index import ListIndex

__all__ = ["bench_lists"]

_HEADER = "entity,value,list,reason,source,created_by,created_at,expires_at,action\n"
_SOURCES = ("police", "partner_bank", "internal", "branch")


def _csv(n: int, rng: random.Random) -> str:
    rows = [_HEADER]
    for i in range(n):
        roll = rng.random()
        if roll < 0.55:
            entity, value = "payee", f"62{i:014d}"
        elif roll < 0.70:
            entity, value = "device", f"dev-{i:08x}"
        elif roll < 0.85:
            entity, value = "ip", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        elif roll < 0.86:
            entity, value = "ip", f"172.{16 + i % 16}.{i >> 8 & 255}.0/24"
        elif roll < 0.93:
            entity, value = "merchant", f"M{i:07d}"
        elif roll < 0.97:
            entity, value = "terminal", f"T{i:07d}"
        else:
            entity, value = "account", f"A{i:07d}"
        kind = "watch" if rng.random() < 0.1 else "deny"
        source = _SOURCES[i % 4]
        rows.append(f"{entity},{value},{kind},reported,{source},bench,2026-11-01T00:00:00Z,,\n")
    return "".join(rows)


def _events(n: int, rng: random.Random, listed: list[str]) -> list[Payment | Login]:
    """Payments and logins; one payment in ten goes to a listed payee, so hits are priced in."""
    ts = datetime(2026, 11, 24, 10, tzinfo=UTC)
    out: list[Payment | Login] = []
    for i in range(n):
        octets = (rng.randrange(1, 223), rng.randrange(256), rng.randrange(256), rng.randrange(256))
        ip = ".".join(map(str, octets))
        if rng.random() < 0.7:
            out.append(
                Payment(
                    event_id=f"E{i}",
                    ts=ts,
                    account_id=f"A{rng.randrange(10**7):07d}",
                    amount=100.0,
                    channel="mobile",
                    txn_type="transfer",
                    payee_account=rng.choice(listed)
                    if i % 10 == 0
                    else f"62{rng.randrange(10**9):014d}",
                    device_id=f"dev-{rng.randrange(10**8):08x}",
                    ip=ip,
                    merchant_id=f"M{rng.randrange(10**7):07d}",
                    terminal_id=f"T{rng.randrange(10**7):07d}",
                )
            )
        else:
            out.append(
                Login(
                    event_id=f"E{i}",
                    ts=ts,
                    account_id=f"A{rng.randrange(10**7):07d}",
                    channel="online",
                    success=True,
                    device_id=f"dev-{rng.randrange(10**8):08x}",
                    ip=ip,
                )
            )
    return out


def _screen_cost(index: ListIndex, events: list[Payment | Login], now: float) -> float:
    screen = index.screen
    started = time.perf_counter()
    for event in events:
        screen(event, {}, now)
    return (time.perf_counter() - started) / len(events) * 1e6


def _percentile(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, round(q / 100 * (len(data) - 1)))]


def bench_lists(
    redis_url: str,
    bootstrap: str,
    entries: int = 100_000,
    changes: int = 50,
    client: ClientSection | None = None,
) -> dict[str, Any]:
    rng = random.Random(11)
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    topic = f"{prefix}.lists"
    store = RedisListStore(redis_client(RedisSettings(url=redis_url)), prefix=prefix)
    control = ListsControl(bootstrap, topic, client=client)
    result: dict[str, Any] = {"benchmark": "lists", "entries": entries}

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lists.csv"
        path.write_text(_csv(entries, rng), encoding="utf-8")
        started = time.perf_counter()
        loaded, errors = import_csv(
            store, control, path.read_text(encoding="utf-8"), actor="bench", why="benchmark"
        )
        result["import_s"] = round(time.perf_counter() - started, 2)
        parsed, _ = read_entries(path.read_text(encoding="utf-8"))
    assert loaded == entries and not errors, errors[:3]
    result["import_entries_per_s"] = round(entries / result["import_s"])

    started = time.perf_counter()
    follower = RedisLists(
        store, bootstrap=bootstrap, topic=topic, client=client, sweep_interval_s=3600
    )
    result["follower_load_s"] = round(time.perf_counter() - started, 2)
    try:
        events = _events(50_000, rng, [e.value for e in parsed if e.entity == "payee"])
        now = time.time()
        full = ListIndex(parsed)
        empty_us = min(_screen_cost(ListIndex(), events, now) for _ in range(3))
        full_us = min(_screen_cost(full, events, now) for _ in range(3))
        result["screen_us_per_event"] = round(full_us, 3)
        result["screen_added_us_per_event"] = round(full_us - empty_us, 3)
        started = time.perf_counter()
        for event in events:
            follower.screen(event, {}, now)
        result["follower_screen_us_per_event"] = round(
            (time.perf_counter() - started) / len(events) * 1e6, 3
        )

        delays: list[float] = []
        for i in range(changes):
            entry = ListEntry(
                entity="payee",
                value=f"PROP{i}",
                kind="deny",
                reason="propagation",
                source="internal",
                created_by="bench",
                created_at=datetime.now(UTC),
            )
            probe = Payment(
                event_id=f"probe{i}",
                ts=datetime.now(UTC),
                account_id="A1",
                amount=1.0,
                channel="online",
                txn_type="transfer",
                payee_account=entry.value,
            )
            started = time.perf_counter()
            store.add(entry, actor="bench", why="propagation")
            control.publish(ListChange(op="add", entry=entry))
            while not follower.screen(probe, {}, time.time()).deny:
                time.sleep(0.0005)
            delays.append((time.perf_counter() - started) * 1000)
        result["change_to_worker_ms_p50"] = round(_percentile(delays, 50), 1)
        result["change_to_worker_ms_p99"] = round(_percentile(delays, 99), 1)
        result["change_to_worker_ms_max"] = round(max(delays), 1)
    finally:
        follower.close()
        store.client.delete(store.entries_key, store.audit_key)
    return result
