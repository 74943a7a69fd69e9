"""The generic entity stage: deterministic under batch cuts, failure-isolated, expiring."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, TestingSource, run_main

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import defaults
from riskflow.features.entity import EntityLogic, entity_logic, entity_stage
from riskflow.features.ip import IP_FEATURES, IPState, ip_entity, neutral
from riskflow.features.operator import Featured

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def featured(event: Payment | Login) -> Featured:
    return Featured(event, {"account_feature": 1}, None, 0.0)


def login(eid: str, account: str, seconds: float, success: bool, ip: str | None) -> Featured:
    return featured(
        Login(
            event_id=eid,
            ts=T0 + timedelta(seconds=seconds),
            account_id=account,
            channel="mobile",
            success=success,
            ip=ip,
        )
    )


def stuffing(n: int = 60, seed: int = 3) -> list[Featured]:
    """Failed logins across accounts from two IPs, a few successes, some without an IP."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ip = rng.choice(["203.0.113.1", "203.0.113.2", None])
        # Ties in time on purpose: the event id breaks them.
        out.append(login(f"L{i:03d}", f"A{i % 17}", (i // 2) * 7.0, rng.random() < 0.2, ip))
    return out


def run_logic(logic: EntityLogic, batches: list[list[Featured]]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for batch in batches:
        items, _ = logic.on_batch(batch)
        out |= {item.event.event_id: item.features for item in items}
    return out


def cuts(items: list[Featured], size: int, rng: random.Random) -> list[list[Featured]]:
    """Consecutive batches of `size`, each shuffled (bytewax groups a batch by key)."""
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    for b in batches:
        rng.shuffle(b)
    return batches


def test_the_same_features_however_the_input_is_cut_into_batches():
    items = [x for x in stuffing() if x.event.ip == "203.0.113.1"]
    build = entity_logic(ip_entity())
    rng = random.Random(1)
    reference = run_logic(build(None), [[x] for x in items])
    for size in (2, 5, 13, len(items)):
        assert run_logic(build(None), cuts(items, size, rng)) == reference
    # And across a snapshot and restore between batches.
    first = build(None)
    got = run_logic(first, [items[:20]])
    second = build(first.snapshot())
    got |= run_logic(second, [items[20:]])
    assert got == reference
    assert any(f["ip_failures_elsewhere_1h"] > 0 for f in reference.values())


def test_features_are_added_to_the_account_features():
    (item,) = build_and_run([login("L1", "A", 0, False, "198.51.100.1")])
    assert item.features["account_feature"] == 1
    assert set(IP_FEATURES) <= set(item.features)


def test_a_failing_event_passes_with_neutral_features_and_the_state_ignores_it(monkeypatch, caplog):
    items = [
        login("L1", "A", 0, False, "198.51.100.1"),
        login("L2", "B", 10, False, "198.51.100.1"),
        login("L3", "C", 20, True, "198.51.100.1"),
    ]
    errors: list[tuple[str, str]] = []
    clean = run_logic(entity_logic(ip_entity())(None), [[items[0], items[2]]])

    original = IPState.observe

    def observe(self, event):
        if event.event_id == "L2":
            self.fails[0] = 10**6  # half-done work that must not survive
            raise ValueError("B secret")
        return original(self, event)

    monkeypatch.setattr(IPState, "observe", observe)
    logic = entity_logic(ip_entity(), on_error=lambda e, t: errors.append((e, t)))(None)
    got = run_logic(logic, [items])
    assert got["L2"] == {"account_feature": 1, **neutral()}
    assert got["L3"] == clean["L3"]
    assert got["L3"]["ip_failures_elsewhere_1h"] == 1
    assert errors == [("ip", "ValueError")]
    assert "secret" not in caplog.text and "ValueError" in caplog.text


def test_live_keys_expire_after_the_idle_time_and_replays_never():
    now = [1000.0]
    build = entity_logic(ip_entity(), live=True, idle_expiry_s=3600.0, clock=lambda: now[0])
    logic = build(None)
    logic.on_batch([login("L1", "A", 0, False, "198.51.100.1")])
    assert logic.notify_at() == datetime.fromtimestamp(1000.0 + 3600.0, UTC)
    now[0] += 3599.0
    assert logic.on_notify()[1] is EntityLogic.RETAIN
    now[0] += 1.0
    assert logic.on_notify()[1] is EntityLogic.DISCARD
    replay = entity_logic(ip_entity())(None)
    replay.on_batch([login("L1", "A", 0, False, "198.51.100.1")])
    assert replay.notify_at() is None


def build_and_run(items: list[Featured]) -> list[Featured]:
    flow = Dataflow("entity_test")
    up = op.input("in", flow, TestingSource(items))
    out: list[Featured] = []
    op.output("out", entity_stage("ip", up, ip_entity()), TestingSink(out))
    run_main(flow)
    return out


def test_the_stage_gives_every_event_once_with_ip_features_those_without_an_ip_neutral():
    items = stuffing(200)
    out = build_and_run(items)
    assert sorted(x.event.event_id for x in out) == sorted(x.event.event_id for x in items)
    for x in out:
        assert set(IP_FEATURES) <= set(x.features)
        if x.event.ip is None:
            assert {n: x.features[n] for n in IP_FEATURES} == neutral()
    # The same as the logic alone, per IP.
    for ip in ("203.0.113.1", "203.0.113.2"):
        mine = [x for x in items if x.event.ip == ip]
        alone = run_logic(entity_logic(ip_entity())(None), [[x] for x in mine])
        assert {x.event.event_id: x.features for x in out if x.event.ip == ip} == alone
    assert neutral() == {n: defaults()[n] for n in IP_FEATURES}
