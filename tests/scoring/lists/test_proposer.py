"""The proposer: a proposal at N confirmed frauds from distinct victims, once, and only then."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from riskflow.flows.config import ConfigError, parse_settings
from riskflow.scoring.lists.proposals import Proposal
from riskflow.scoring.lists.proposer import (
    FraudLabel,
    PartyFrauds,
    ProposerConfig,
    fraud_labels,
    proposer_logic,
)

DAY = 86400.0
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC).timestamp()
CFG = ProposerConfig()


def label(n: int, victim: str, *, party: str = "payee:MULE1", at: float | None = None):
    return FraudLabel(party, f"E{n}", victim, T0 + n * 60.0 if at is None else at)


def run(labels: list[FraudLabel], cfg: ProposerConfig = CFG, snapshot: bytes | None = None):
    logic = proposer_logic(cfg, live=False)(snapshot)
    out, _ = logic.on_batch(labels)
    return out, logic.snapshot()


def test_three_frauds_from_two_victims_make_one_watch_proposal_with_evidence():
    out, _ = run([label(1, "V1"), label(2, "V2"), label(3, "V1")])
    assert len(out) == 1
    p = out[0]
    assert (p.entity, p.value, p.kind, p.status, p.action) == (
        "payee",
        "MULE1",
        "watch",
        "pending",
        "review",
    )
    assert p.evidence.frauds == 3 and p.evidence.victims == 2
    assert p.evidence.event_ids == ["E1", "E2", "E3"]
    assert p.evidence.first_at.timestamp() == T0 + 60 and p.evidence.last_at.timestamp() == T0 + 180
    assert p.proposed_at.timestamp() == T0 + 180
    assert p.expires_at.timestamp() == T0 + 180 + 30 * DAY
    # The victims are counted, never copied.
    assert b"V1" not in msgspec.json.encode(p)
    entry = p.entry(actor="analyst-7", now=datetime.now(UTC))
    assert (entry.id, entry.source) == ("watch:payee:MULE1", "model")
    assert entry.expires_at == p.expires_at
    assert p.id in entry.reason
    assert p.entry(kind="deny", actor="a", now=datetime.now(UTC)).id == "deny:payee:MULE1"


def test_below_the_count_or_from_one_victim_nothing_is_proposed():
    assert run([label(1, "V1"), label(2, "V2")])[0] == []
    assert run([label(1, "V1"), label(2, "V1"), label(3, "V1"), label(4, "V1")])[0] == []


def test_frauds_older_than_the_window_do_not_count():
    old = [label(1, "V1", at=T0), label(2, "V2", at=T0 + 1)]
    assert run([*old, label(3, "V3", at=T0 + 31 * DAY)])[0] == []


def test_legit_labels_and_other_kinds_are_not_counted():
    parties = ["payee:MULE1", "merchant:M1", "terminal:T1", "ip:1.2.3.4"]
    assert fraud_labels(["payee"], "E1", "V1", parties, False, T0) == []
    labels = fraud_labels(["payee", "terminal"], "E1", "V1", [*parties, "payee:MULE1"], True, T0)
    assert [f.party for f in labels] == ["payee:MULE1", "terminal:T1"]


def test_a_replayed_label_counts_once_and_a_proposal_fires_once():
    first, snap = run([label(1, "V1"), label(2, "V2")])
    assert first == []
    # The same two labels again (a redelivery) do not make a third.
    again, snap = run([label(1, "V1"), label(2, "V2")], snapshot=snap)
    assert again == []
    out, after = run([label(3, "V3")], snapshot=snap)
    assert len(out) == 1
    # A replay of the epoch from the snapshot before it gives the very same proposal id ...
    replayed, _ = run([label(3, "V3")], snapshot=snap)
    assert [p.id for p in replayed] == [out[0].id]
    # ... and from the snapshot after it, nothing; nor do more frauds until it expires.
    assert run([label(3, "V3"), label(4, "V4"), label(5, "V5")], snapshot=after)[0] == []


def test_after_its_expiry_a_still_named_payee_is_proposed_anew():
    _, snap = run([label(1, "V1"), label(2, "V2"), label(3, "V3")])
    later = T0 + 31 * DAY
    out, _ = run(
        [label(10 + i, f"W{i}", at=later + i) for i in range(3)],
        snapshot=snap,
    )
    assert len(out) == 1 and out[0].evidence.frauds == 3


def test_batch_order_does_not_change_the_proposal():
    labels = [label(1, "V1"), label(2, "V2"), label(3, "V3"), label(4, "V1")]
    assert run(labels)[0] == run(labels[::-1])[0]


def test_state_is_bounded_by_the_cap():
    cfg = ProposerConfig(cap=5, min_frauds=5, min_victims=1)
    state = PartyFrauds(quiet_until=float("inf"))
    for n in range(40):
        state.observe(label(n, f"V{n}"), cfg)
    assert len(state.frauds) == 5


def test_a_counterparty_that_cannot_be_an_entry_is_a_counted_refusal_not_a_crash():
    outcomes: list[str] = []
    logic = proposer_logic(CFG, live=False, on_outcome=outcomes.append)(None)
    long = "X" * 300
    out, _ = logic.on_batch([label(n, f"V{n}", party=f"payee:{long}") for n in range(3)])
    assert out == [] and outcomes == ["refused"]
    # Each counterparty has its own state (the flow keys by it): the next still proposes.
    good = proposer_logic(CFG, live=False, on_outcome=outcomes.append)(None)
    out, _ = good.on_batch([label(n, f"V{n}") for n in range(3)])
    assert [p.value for p in out] == ["MULE1"] and outcomes == ["refused", "proposed"]


def test_unreadable_state_starts_afresh():
    out, _ = run([label(1, "V1"), label(2, "V2"), label(3, "V3")], snapshot=b"\xff garbage")
    assert len(out) == 1


def test_a_live_key_is_forgotten_after_a_window_without_fraud_labels():
    logic = proposer_logic(CFG, live=True)(None)
    logic.on_batch([label(1, "V1")])
    due = logic.notify_at()
    assert due is not None and due.timestamp() == pytest.approx(logic._active_at + 30 * DAY)
    assert logic.on_notify() == ([], True)
    assert proposer_logic(CFG, live=False)(None).notify_at() is None


def test_the_config_is_checked():
    proposals = {"min_frauds": 4, "auto_accept_watch": True}
    settings = parse_settings({"lists": {"proposals": proposals}})
    assert settings.lists.proposals.min_frauds == 4
    assert settings.lists.proposals.auto_accept_watch
    with pytest.raises(ConfigError, match=r"lists\.proposals\.auto_accept: unknown key"):
        parse_settings({"lists": {"proposals": {"auto_accept": True}}})
    with pytest.raises(ConfigError, match="min_victims cannot exceed min_frauds"):
        parse_settings({"lists": {"proposals": {"min_frauds": 2, "min_victims": 3}}})
    with pytest.raises(ConfigError, match="entities"):
        parse_settings({"lists": {"proposals": {"entities": ["account"]}}})


def test_a_proposal_reads_back_as_it_was_written():
    out, _ = run([label(1, "V1"), label(2, "V2"), label(3, "V3")])
    blob = msgspec.json.encode(out[0])
    assert msgspec.json.decode(blob, type=Proposal) == out[0]
    assert b'"list":"watch"' in blob
