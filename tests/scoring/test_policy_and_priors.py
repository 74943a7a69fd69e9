"""The priors (what evidence is worth before labels) and the policy that maps risk to an action."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskflow.features.catalog import defaults
from riskflow.scoring.policy import Policy
from riskflow.scoring.priors import Priors, anomaly_prior, prior
from riskflow.scoring.rules.ruleset import RuleHit

PRIORS = Priors()


def hit(action: str = "review", severity: str = "high", reason: str = "R") -> RuleHit:
    return RuleHit(
        rule_id=reason.lower(), action=action, severity=severity, reason=reason, detail="d"
    )


def test_quiet_event_gets_the_base_rate_and_is_allowed():
    p = prior([], defaults(), PRIORS)
    assert p.value == pytest.approx(PRIORS.base_rate)
    assert p.reasons == [] and p.signals == []
    assert Policy().action(p.value, []) == "allow"


def test_prior_grows_with_evidence_and_lists_heaviest_reason_first():
    one = prior([hit(severity="medium", reason="M")], defaults(), PRIORS)
    two = prior(
        [hit(severity="medium", reason="M"), hit(severity="critical", reason="C")],
        defaults(),
        PRIORS,
    )
    assert PRIORS.base_rate < one.value < two.value < 1
    assert [r.code for r in two.reasons] == ["C", "M"]


def test_severity_weights_come_from_config():
    lenient = Priors(severity={"low": 0.01, "medium": 0.02, "high": 0.05, "critical": 0.1})
    strict = prior([hit(severity="high")], defaults(), PRIORS).value
    assert prior([hit(severity="high")], defaults(), lenient).value < strict


def test_weak_signals_add_evidence_and_name_their_stacker_inputs():
    f = defaults() | {"amount_zscore": 6.0, "is_new_device": True, "event_type": "payment"}
    p = prior([], f, PRIORS)
    # Independent evidence: base rate, 6 std (0.03) and a new device (0.008) as a noisy-OR.
    assert p.value == pytest.approx(1 - (1 - 0.002) * (1 - 0.03) * (1 - 0.008))
    assert {r.code for r in p.reasons} == {"AMOUNT_ANOMALY", "NEW_DEVICE"}
    assert set(p.signals) == {"signal:AMOUNT_ANOMALY", "signal:NEW_DEVICE"}
    assert prior([], f, Priors(weak_signals=False)).signals == []


@given(severities=st.lists(st.sampled_from(["low", "medium", "high", "critical"]), max_size=6))
def test_prior_is_a_probability_and_monotone_in_hits(severities):
    hits = [hit(severity=s, reason=f"R{i}") for i, s in enumerate(severities)]
    p = prior(hits, defaults(), PRIORS)
    assert 0.0 < p.value < 1.0
    assert len(p.reasons) == len(hits)
    if hits:
        assert prior(hits[:-1], defaults(), PRIORS).value <= p.value


@given(a=st.floats(0.0, 0.9999), b=st.floats(0.0, 0.9999))
def test_anomaly_prior_rises_with_rarity_and_stays_below_its_cap(a, b):
    lo, hi = sorted((a, b))
    p_lo = anomaly_prior(lo, 100_000, PRIORS)
    p_hi = anomaly_prior(hi, 100_000, PRIORS)
    assert 0.0 < p_lo <= p_hi < PRIORS.anomaly_cap


def test_anomaly_prior_multiplies_base_odds_by_rarity_and_averages_the_base_rate():
    n = 100_000
    typical = anomaly_prior(0.5, n, PRIORS)
    assert typical == pytest.approx(2 * PRIORS.base_rate / math.log(n + 1), rel=0.05)
    assert 0.3 < anomaly_prior(0.9999, n, PRIORS) < PRIORS.anomaly_cap  # about a challenge
    # Knowing nothing of how telling the detector is, the prior averages about the base
    # rate (the odds do exactly; probabilities and the cap take a little off the top).
    ranks = [i / n for i in range(n)]
    mean = sum(anomaly_prior(r, n, PRIORS) for r in ranks) / n
    assert 0.5 * PRIORS.base_rate < mean < 1.2 * PRIORS.base_rate


def test_priors_config_is_validated():
    with pytest.raises(ValueError):
        Priors(severity={"low": 0.1})
    with pytest.raises(ValueError):
        Priors(base_rate=0.0)


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
