"""Labels turned into branch dispositions, rule precision and prequential quality."""

from __future__ import annotations

import yaml
from prometheus_client import REGISTRY

from riskflow.connectors.metrics import RulesetObserver, observe_learned, observe_verdicts
from riskflow.features.catalog import defaults
from riskflow.scoring.models.learning import Learned
from riskflow.scoring.models.prequential import precision_at_k
from riskflow.scoring.rules.reload import RulesetHolder


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_label_on_an_alerted_event_is_its_branch_disposition_and_scores_its_rules():
    before = (
        value("riskflow_alert_dispositions_total", branch_id="BR901", outcome="fraud"),
        value("riskflow_alert_disposition_seconds_count", branch_id="BR901"),
        value("riskflow_alert_disposition_seconds_bucket", branch_id="BR901", le="14400.0"),
        value("riskflow_rule_labels_total", rule_id="r_test", label="fraud"),
        value("riskflow_rule_labels_total", rule_id="r_test", label="legit"),
    )
    alerted = Learned(
        "payment", True, 2 * 3600.0, "rules-only", None, None, None, "block", "BR901", ("r_test",)
    )
    allowed = Learned(
        "payment", False, 60.0, "rules-only", None, None, None, "allow", "", ("r_test",)
    )
    observe_learned(alerted)
    observe_learned(allowed)
    after = (
        value("riskflow_alert_dispositions_total", branch_id="BR901", outcome="fraud"),
        value("riskflow_alert_disposition_seconds_count", branch_id="BR901"),
        value("riskflow_alert_disposition_seconds_bucket", branch_id="BR901", le="14400.0"),
        value("riskflow_rule_labels_total", rule_id="r_test", label="fraud"),
        value("riskflow_rule_labels_total", rule_id="r_test", label="legit"),
    )
    # The allowed event raised no alert: a rule precision sample, not a disposition.
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1, 1]


def test_decisions_are_counted_by_channel_and_stamp_the_last_decision_time():
    before = value("riskflow_events_scored_total", event_type="login", channel="phone")
    observe_verdicts([], [], [], channels=[("login", "phone"), ("login", "phone")])
    assert value("riskflow_events_scored_total", event_type="login", channel="phone") == before + 2
    assert value("riskflow_last_decision_timestamp_seconds") > 1.7e9


def test_precision_at_k_counts_fraud_among_the_top_k_with_pessimistic_ties():
    scores = [0.9, 0.8, 0.8, 0.3, 0.1]
    labels = [True, True, False, False, True]
    assert precision_at_k(scores, labels, 1) == 1.0
    assert precision_at_k(scores, labels, 2) == 0.5  # the tie at 0.8 puts the legit one first
    assert precision_at_k(scores, labels, 3) == 2 / 3
    assert precision_at_k(scores, labels, 10) == 3 / 5


def _ruleset(version: str, condition: str) -> str:
    rule = {
        "id": "per_minute",
        "description": "amount per minute of tenure",
        "condition": condition,
        "action": "review",
        "severity": "high",
        "reason": "PER_MINUTE",
    }
    return yaml.safe_dump({"version": version, "rules": [rule]}, width=10**9)


def test_rule_errors_are_counted_by_rule_across_ruleset_versions(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(_ruleset("m1", "amount / pay_count_5m > 10"))
    holder = RulesetHolder(path)
    observer = RulesetObserver(holder)
    before = value("riskflow_rule_errors_total", rule_id="per_minute")
    idle = defaults() | {"amount": 50.0, "pay_count_5m": 0}
    busy = defaults() | {"amount": 50.0, "pay_count_5m": 2}
    for features in (idle, busy, idle):
        holder.current().evaluate(features, "payment")
    observer.observe()
    assert value("riskflow_rule_errors_total", rule_id="per_minute") == before + 2
    observer.observe()  # nothing new: nothing added
    assert value("riskflow_rule_errors_total", rule_id="per_minute") == before + 2
    # A new version counts from its own load; what the old one counted stays counted.
    assert holder.replace_text(_ruleset("m2", "amount / (pay_count_5m - 2) > 10"))
    holder.current().evaluate(busy, "payment")
    observer.observe()
    assert value("riskflow_rule_errors_total", rule_id="per_minute") == before + 3
    assert value("riskflow_ruleset_info", version="m2") == 1
    assert value("riskflow_ruleset_info", version="m1") == 0
