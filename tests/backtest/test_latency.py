"""Detection latency per scenario, worked out by hand."""

from __future__ import annotations

import math

from riskflow.backtest.latency import FraudEvent, detection_latency, incidents


def ev(event_id: str, account: str, scenario: str, minutes: float) -> FraudEvent:
    return FraudEvent(event_id, account, scenario, 1_000_000.0 + minutes * 60)


def test_latency_counts_time_and_events_let_through_until_the_first_stop():
    events = [
        # takeover on A: caught at the third event, 12 minutes in
        ev("a1", "A", "account_takeover", 0),
        ev("a2", "A", "account_takeover", 5),
        ev("a3", "A", "account_takeover", 12),
        ev("a4", "A", "account_takeover", 20),
        # takeover on B: caught at once
        ev("b1", "B", "account_takeover", 0),
        # card testing on C: never caught
        ev("c1", "C", "card_testing", 0),
        ev("c2", "C", "card_testing", 1),
        # card testing on C again two days later: a new incident, caught at its second event
        ev("c3", "C", "card_testing", 2 * 1440),
        ev("c4", "C", "card_testing", 2 * 1440 + 3),
    ]
    actions = {"a3": "block", "a4": "block", "b1": "challenge", "c1": "allow", "c4": "review"}
    result = detection_latency(incidents(events), actions)
    ato = result["account_takeover"]
    assert ato["incidents"] == 2 and ato["detected_share"] == 1.0
    assert ato["median_minutes"] == (12 + 0) / 2
    assert ato["median_events_let_through"] == (2 + 0) / 2
    cards = result["card_testing"]
    assert cards["incidents"] == 2 and cards["detected_share"] == 0.5
    assert cards["median_minutes"] == 3 and cards["median_events_let_through"] == 1


def test_an_undetected_scenario_has_no_latency():
    result = detection_latency(incidents([ev("x", "X", "mule_payee", 0)]), {})
    assert result["mule_payee"]["detected_share"] == 0.0
    assert math.isnan(result["mule_payee"]["median_minutes"])
