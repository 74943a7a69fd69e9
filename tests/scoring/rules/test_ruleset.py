"""Ruleset files: strict validation, event types, runtime errors contained."""

from __future__ import annotations

import pytest

from riskflow.features.catalog import defaults
from riskflow.scoring.rules.ruleset import RulesetError, parse_ruleset

RULE = """
  - id: {id}
    description: test rule
    condition: "{condition}"
    action: {action}
    severity: high
    reason: {reason}
    {extra}
"""


def ruleset(*rules: str, version: str = "t1") -> str:
    return f'version: "{version}"\nrules:\n' + "".join(rules)


def rule(id="r1", condition="amount > 10", action="review", reason="R1", extra="") -> str:
    return RULE.format(id=id, condition=condition, action=action, reason=reason, extra=extra)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: v\nrules:\n  - id: r1\n    condition: amount > 1\n", "missing required field"),
        (ruleset(rule(action="freeze")), "action"),
        (ruleset(rule(), rule()), "duplicate rule id"),
        (ruleset(rule(reason="lower-case")), "reason"),
        (ruleset(rule(id="Bad Id")), "rule id"),
        (ruleset(rule(extra="detail: '{amount.__class__}'")), "placeholder"),
        (ruleset(rule(extra="detail: '{nope}'")), "placeholder"),
        (ruleset(rule(extra="colour: red")), "unknown field"),
        (ruleset(rule(condition="amount >")), "syntax error"),
        (ruleset(rule(condition="__import__('os')")), "only abs"),
        ('version: ""\nrules: []\n', "version is empty"),
        ("version: [unclosed", "not valid YAML"),
    ],
)
def test_invalid_rulesets_are_rejected_with_a_clear_message(text, message):
    with pytest.raises(RulesetError) as info:
        parse_ruleset(text, source="rules.yaml")
    assert message in str(info.value)


def test_applies_to_and_enabled_are_honoured():
    rs = parse_ruleset(
        ruleset(
            rule("pay", "amount >= 0", reason="PAY", extra="applies_to: [payment]"),
            rule("log", "amount >= 0", reason="LOG", extra="applies_to: [login]"),
            rule("both", "amount >= 0", reason="BOTH"),
            rule("disabled", "amount >= 0", reason="DISABLED", extra="enabled: false"),
        )
    )
    f = defaults()
    assert [h.rule_id for h in rs.evaluate(f, "payment")] == ["pay", "both"]
    assert [h.rule_id for h in rs.evaluate(f, "login")] == ["log", "both"]


def test_a_rule_failing_at_runtime_does_not_fire_and_does_not_silence_others():
    rs = parse_ruleset(
        ruleset(
            rule("broken", "amount / (pay_count_5m - pay_count_5m) > 1", reason="B"),
            rule("fine", "amount > 10", reason="F"),
        )
    )
    hits = rs.evaluate(defaults() | {"amount": 50.0}, "payment")
    assert [h.rule_id for h in hits] == ["fine"]
    assert rs.errors == {"broken": 1}


def test_detail_template_is_filled_from_features():
    rs = parse_ruleset(ruleset(rule(extra='detail: "{amount:,.2f} via {channel}"')))
    [hit] = rs.evaluate(defaults() | {"amount": 12345.678, "channel": "atm"}, "payment")
    assert hit.detail == "12,345.68 via atm"
    assert (hit.action, hit.severity, hit.reason) == ("review", "high", "R1")
