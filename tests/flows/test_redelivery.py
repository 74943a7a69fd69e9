"""Redelivered events: exactly one decision per event_id, every repeat the same bytes."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bytewax.testing import run_main

from riskflow.connectors.metrics import DUPLICATES
from riskflow.contract.messages import DeadLetter, Payment
from riskflow.features.account import FeatureConfig
from riskflow.features.operator import Duplicate
from riskflow.flows.config import (
    FileInput,
    FileOutput,
    ListsSettings,
    MetricsSettings,
    RulesSettings,
    Settings,
)
from riskflow.flows.risk import build_flow
from riskflow.scoring.decide import Verdict
from riskflow.scoring.redelivery import DecisionMemory, SentDecision
from tests.flows.streams import login, payment, write_jsonl
from tests.infra.verdicts import allowed

RULES = """
version: "redelivery-1"
rules:
  - id: burst
    description: many payments within the hour
    condition: "pay_count_1h >= 3 or pay_sum_24h >= 2000"
    action: review
    severity: medium
    reason: BURST
    applies_to: [payment]
  - id: failing_logins
    description: repeated failed logins
    condition: "failed_logins_15m >= 2 and not login_success"
    action: challenge
    severity: low
    reason: LOGIN_FAILURES
    applies_to: [login]
"""


def bank_events() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two days of 20 accounts: bursts of payments and runs of failed logins."""
    payments, logins = [], []
    for a in range(20):
        account = f"A{a}"
        for i in range(60):
            minutes = i * 47 + a * 3 + (i % 4) * 2
            payments.append(
                payment(f"P{a}-{i}", account, minutes, 100.0 + 37 * (i % 9), payee_account="S")
            )
        for i in range(25):
            minutes = i * 113 + a * 5
            logins.append(login(f"L{a}-{i}", account, minutes, i % 3 != 0, device_id=f"d{a}"))
    return payments, logins


def with_repeats(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Some rows twice, some three times, a few again long after (re-stamped by a retry)."""
    out = list(rows)
    for i, row in enumerate(rows):
        if i % 7 == 0:
            out.append(dict(row))
        if i % 11 == 0:
            out.extend([dict(row), dict(row)])
        if i % 97 == 5:
            later = datetime.fromisoformat(row["ts"]) + timedelta(hours=30)
            out.append({**row, "ts": later.isoformat()})
    return out


def settings_for(tmp: Path, payments: list, logins: list) -> Settings:
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    lists = tmp / "deny.csv"
    lists.write_text("entity,value,reason,source\n")
    return Settings(
        input=FileInput(
            payments=str(write_jsonl(tmp / "payments.jsonl", payments)),
            logins=str(write_jsonl(tmp / "logins.jsonl", logins)),
            feedback=str(write_jsonl(tmp / "feedback.jsonl", [])),
        ),
        output=FileOutput(directory=str(tmp / "out")),
        rules=RulesSettings(path=str(rules)),
        lists=ListsSettings(path=str(lists)),
        metrics=MetricsSettings(enabled=False),
    )


def run(tmp: Path, payments: list, logins: list) -> Path:
    tmp.mkdir()
    run_main(build_flow(settings_for(tmp, payments, logins)))
    return tmp / "out"


def lines(path: Path) -> list[str]:
    """The file's records; a sink that got none may not have written the file."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line]


def duplicates_counted() -> float:
    return sum(DUPLICATES.labels(kind)._value.get() for kind in ("payment", "login"))


def test_one_decision_per_event_id_and_repeats_byte_identical(tmp_path):
    payments, logins = bank_events()
    once = run(tmp_path / "once", payments, logins)
    before = duplicates_counted()
    repeated_payments, repeated_logins = with_repeats(payments), with_repeats(logins)
    twice = run(tmp_path / "twice", repeated_payments, repeated_logins)

    copies = Counter(r["event_id"] for r in repeated_payments + repeated_logins)
    assert set(copies.values()) == {1, 2, 3, 4}
    by_id: dict[str, list[str]] = defaultdict(list)
    for line in lines(twice / "decisions.jsonl"):
        by_id[json.loads(line)["event_id"]].append(line)
    # Every copy answered, all with the bytes of the first decision.
    assert Counter({eid: len(ls) for eid, ls in by_id.items()}) == copies
    assert all(len(set(ls)) == 1 for ls in by_id.values())
    assert duplicates_counted() - before == sum(copies.values()) - len(copies)
    assert lines(twice / "deadletter.jsonl") == []

    # Nothing counted twice: each decision as in the run without repeats (but its wall clock).
    def decided(line: str) -> dict[str, Any]:
        d = json.loads(line)
        del d["ts"], d["latency_ms"]
        return d

    reference = {
        d["event_id"]: decided(line)
        for line in lines(once / "decisions.jsonl")
        for d in [json.loads(line)]
    }
    assert {eid: decided(ls[0]) for eid, ls in by_id.items()} == reference
    actions = Counter(d["action"] for d in reference.values())
    assert actions["review"] and actions["challenge"] and actions["allow"]

    # No new alert nor notification for a repeat.
    for name, key in (("alerts.jsonl", "alert_id"), ("notifications.jsonl", "notification_id")):
        ids = Counter(json.loads(line)[key] for line in lines(twice / name))
        assert ids and ids == Counter(json.loads(line)[key] for line in lines(once / name))
        assert set(ids.values()) == {1}


def test_decisions_keep_their_order_per_account(tmp_path):
    payments, logins = bank_events()
    out = run(tmp_path / "run", with_repeats(payments), with_repeats(logins))
    firsts: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for line in lines(out / "decisions.jsonl"):
        d = json.loads(line)
        if d["event_id"] not in seen:
            seen.add(d["event_id"])
            firsts[d["account_id"]].append(d["event_ts"])
    for stamps in firsts.values():
        times = [datetime.fromisoformat(s) for s in stamps]
        assert times == sorted(times)


def verdict(eid: str, ts: datetime) -> Verdict:
    return allowed(
        "A1",
        eid,
        ts,
        ts="2026-03-02T01:00:00.000+00:00",
        score=0.1,
        rules_version="r",
        model_version="rules-only",
        latency_ms=1.5,
    )


def repeat(eid: str, ts: datetime) -> Duplicate:
    event = Payment(
        event_id=eid, ts=ts, account_id="A1", amount=1.0, channel="online", txn_type="transfer"
    )
    return Duplicate(event, 2.0, "payments", 0, 7)


T = datetime.fromisoformat("2026-03-02T09:00:00+00:00")


def test_a_repeat_that_overtakes_its_verdict_waits_for_it():
    memory = DecisionMemory(FeatureConfig())
    early, _ = memory.on_batch([repeat("P1", T)])
    assert early == []
    out, _ = memory.on_batch([verdict("P1", T)])
    assert [type(x) for x in out] == [SentDecision, SentDecision]
    assert isinstance(out[1], SentDecision) and out[1].repeat
    assert out[0] == SentDecision("A1", "P1", out[1].body)


def test_a_forgotten_decision_dead_letters_the_repeat():
    memory = DecisionMemory(FeatureConfig(decisions_kept_cap=2))
    memory.on_batch([verdict(f"P{i}", T + timedelta(minutes=i)) for i in range(3)])
    assert list(memory.sent) == ["P1", "P2"]
    out, _ = memory.on_batch([repeat("P2", T), repeat("P0", T)])
    assert len(out) == 1 and isinstance(out[0], SentDecision) and out[0].event_id == "P2"
    dead, _ = memory.on_eof()
    letters = [d for d in dead if isinstance(d, DeadLetter)]
    assert len(letters) == len(dead) == 1
    assert (letters[0].reason, letters[0].source_topic, letters[0].source_offset) == (
        "duplicate",
        "payments",
        7,
    )


def test_a_batch_of_verdicts_does_not_push_out_the_one_its_duplicate_asks_for():
    memory = DecisionMemory(FeatureConfig(decisions_kept_cap=2))
    batch: list[Verdict | Duplicate] = [
        verdict(f"P{i}", T + timedelta(minutes=i)) for i in range(3)
    ]
    out, _ = memory.on_batch([*batch, repeat("P0", T)])
    assert [(x.event_id, x.repeat) for x in out if isinstance(x, SentDecision)][-1] == ("P0", True)
    assert list(memory.sent) == ["P1", "P2"]


def test_decisions_older_than_two_days_of_event_time_are_forgotten_by_default():
    memory = DecisionMemory(FeatureConfig())
    memory.on_batch([verdict("P1", T), verdict("P2", T + timedelta(hours=47))])
    assert list(memory.sent) == ["P1", "P2"]
    memory.on_batch([verdict("P3", T + timedelta(hours=48, seconds=1))])
    assert list(memory.sent) == ["P2", "P3"]
    out, _ = memory.on_batch([repeat("P1", T)])
    dead, _ = memory.on_eof()
    assert out == [] and [d.reason for d in dead if isinstance(d, DeadLetter)] == ["duplicate"]


def test_the_memory_survives_a_snapshot():
    memory = DecisionMemory(FeatureConfig())
    first, _ = memory.on_batch([verdict("P1", T)])
    memory.on_batch([repeat("P2", T)])
    restored = DecisionMemory(FeatureConfig(), memory.snapshot())
    again, _ = restored.on_batch([repeat("P1", T), verdict("P2", T)])
    bodies = {x.event_id: x.body for x in again if isinstance(x, SentDecision) and x.repeat}
    assert isinstance(first[0], SentDecision) and bodies["P1"] == first[0].body
    assert set(bodies) == {"P1", "P2"}


def test_a_live_memory_is_discarded_once_idle_past_its_bound():
    now = [1_000.0]
    memory = DecisionMemory(FeatureConfig(decisions_kept_days=1.0), live=True, clock=lambda: now[0])
    memory.on_batch([verdict("P1", T)])
    assert memory.notify_at() == datetime.fromtimestamp(1_000.0 + 86400.0, UTC)
    now[0] += 86399.0
    assert memory.on_notify() == ([], False)
    now[0] += 1.0
    assert memory.on_notify() == ([], True)
