"""The transparent score and the policy that maps it to an action."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from features.catalog import defaults
from scoring.policy import Policy
from scoring.rules.ruleset import RuleHit
from scoring.score import score


def hit(action: str = "review", severity: str = "high", reason: str = "R") -> RuleHit:
    return RuleHit(
        rule_id=reason.lower(), action=action, severity=severity, reason=reason, detail="d"
    )


def test_quiet_event_scores_zero_and_is_allowed():
    value, reasons = score([], defaults())
    assert value == 0.0 and reasons == []
    assert Policy().action(value, []) == "allow"


def test_score_grows_with_evidence_and_lists_heaviest_reason_first():
    one, _ = score([hit(severity="medium", reason="M")], defaults())
    two, reasons = score(
        [hit(severity="medium", reason="M"), hit(severity="critical", reason="C")], defaults()
    )
    assert 0 < one < two < 1
    assert [r.code for r in reasons] == ["C", "M"]


def test_anomalies_add_weak_evidence():
    f = defaults() | {"amount_zscore": 6.0, "is_new_device": True, "event_type": "payment"}
    value, reasons = score([], f)
    assert 0.3 < value < 0.5
    assert {r.code for r in reasons} == {"AMOUNT_ANOMALY", "NEW_DEVICE"}


@given(severities=st.lists(st.sampled_from(["low", "medium", "high", "critical"]), max_size=6))
def test_score_is_a_probability_and_monotone_in_hits(severities):
    hits = [hit(severity=s, reason=f"R{i}") for i, s in enumerate(severities)]
    value, reasons = score(hits, defaults())
    assert 0.0 <= value < 1.0
    assert len(reasons) == len(hits)
    if hits:
        assert score(hits[:-1], defaults())[0] <= value


def test_policy_thresholds_and_rule_action_floor():
    policy = Policy(challenge=0.3, review=0.6, block=0.9)
    assert [policy.by_score(s) for s in (0.1, 0.3, 0.6, 0.95)] == [
        "allow",
        "challenge",
        "review",
        "block",
    ]
    assert policy.action(0.1, [hit(action="block")]) == "block"
    assert policy.action(0.95, [hit(action="challenge")]) == "block"


def test_policy_rejects_unordered_thresholds():
    with pytest.raises(ValueError):
        Policy(challenge=0.7, review=0.6, block=0.9)
