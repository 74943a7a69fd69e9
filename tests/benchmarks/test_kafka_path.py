"""`riskflow bench kafka --baseline`: the pass-through flow beside riskflow, on real Kafka."""

from __future__ import annotations

import msgspec
import pytest

from riskflow.benchmarks.kafka_path import bench_kafka
from riskflow.benchmarks.passthrough import _allow_all
from riskflow.contract.parse import Raw


def test_the_pass_through_allows_each_payment_and_login_once_and_skips_the_rest() -> None:
    batch = [
        Raw("payment", b'{"event_id": "e1", "account_id": "A1", "amount": 5}', "p", 0, 1, 1.0),
        Raw("feedback", b'{"event_id": "e1", "account_id": "A1"}', "f", 0, 2, 1.0),
        Raw("login", b'{"event_id": "e2", "account_id": "A2"}', "l", 0, 3, 1.0),
        Raw("payment", b"{not json", "p", 0, 4, 1.0),
        Raw("payment", None, "p", 0, 5, 1.0),
    ]
    out = _allow_all("risk.decisions", batch)
    assert [(m.topic, m.key) for m in out] == [("risk.decisions", b"A1"), ("risk.decisions", b"A2")]
    first = msgspec.json.decode(out[0].value)
    assert (first["event_id"], first["action"]) == ("e1", "allow")
    assert first["latency_ms"] > 0


@pytest.mark.integration
def test_baseline_measures_the_pass_through_first_and_gives_the_ratios(kafka_bootstrap) -> None:
    rows = bench_kafka(kafka_bootstrap, rates=(200.0,), seconds=2.0, customers=500, baseline=True)
    assert [r["flow"] for r in rows] == ["passthrough", "riskflow"]
    for row in rows:
        assert row["scored_events"] > 300
        assert row["decisions_received"] == row["scored_events"]
    floor, product = rows
    assert product["e2e_p99_vs_passthrough"] == round(
        product["e2e_p99_ms"] / floor["e2e_p99_ms"], 1
    )
