"""Detection latency per scenario, worked out by hand."""

from __future__ import annotations

import math

from riskflow.backtest.latency import EARLY_SHARE, FraudEvent, detection_latency, incidents


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


def test_a_burst_across_cards_is_one_incident_and_other_fraud_stays_per_account():
    events = [
        FraudEvent(f"t{i}", f"CARD{i}", "card_testing_across_cards", 1_000_000.0 + i * 10, "B1")
        for i in range(20)
    ]
    # The same accounts' other fraud is still theirs alone.
    events += [ev("x0", "CARD0", "card_testing", 0), ev("x1", "CARD1", "card_testing", 0)]
    found = incidents(events)
    bursts = [i for i in found if i.scenario == "card_testing_across_cards"]
    assert len(bursts) == 1 and bursts[0].burst == "B1" and len(bursts[0].events) == 20
    assert bursts[0].account_id == "CARD0"
    assert sorted(i.account_id for i in found if i.scenario == "card_testing") == ["CARD0", "CARD1"]


def burst(name: str, tests: int, stopped_at: int | None) -> tuple[list[FraudEvent], dict]:
    """`tests` payments of one burst, each on its own card, 15 s apart, handed over out of
    order; the `stopped_at`-th (from 1, in event time) is reviewed, the rest allowed."""
    events = [
        FraudEvent(f"{name}{i}", f"{name}-CARD{i}", "card_testing_across_cards", i * 15.0, name)
        for i in range(1, tests + 1)
    ]
    actions = {e.event_id: "allow" for e in events}
    if stopped_at is not None:
        actions[f"{name}{stopped_at}"] = "review"
    return events[::-1], actions


def test_a_burst_is_stopped_in_time_only_when_one_of_its_first_ten_tests_is():
    events: list[FraudEvent] = []
    actions: dict[str, str] = {}
    for name, stopped_at in (("early", 7), ("late", 12), ("never", None)):
        more, acts = burst(name, 30, stopped_at)
        events += more
        actions |= acts
    result = detection_latency(incidents(events), actions)["card_testing_across_cards"]
    assert result["incidents"] == 3
    assert result["detected_share"] == 2 / 3
    assert result[EARLY_SHARE] == 1 / 3  # the burst stopped at its 7th test, only
    assert result["median_events_let_through"] == (6 + 11) / 2
    assert EARLY_SHARE == "stopped_within_10_share"


def test_the_tenth_test_is_in_time_and_the_eleventh_is_not():
    for stopped_at, share in ((10, 1.0), (11, 0.0)):
        events, actions = burst("b", 15, stopped_at)
        result = detection_latency(incidents(events), actions)
        assert result["card_testing_across_cards"][EARLY_SHARE] == share


def test_scenarios_counted_per_account_have_no_share_stopped_within_the_first_tests():
    result = detection_latency(incidents([ev("a1", "A", "card_testing", 0)]), {"a1": "block"})
    assert EARLY_SHARE not in result["card_testing"]
