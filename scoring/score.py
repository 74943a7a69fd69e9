"""A transparent risk score from rule hits and feature anomalies.

Until learned models land, the score is a noisy-OR of evidence weights: each
fired rule contributes by severity and a few anomalies contribute small
amounts, so the score is explainable term by term and stays in [0, 1].
"""

from __future__ import annotations

from typing import Final

from contract.messages import Reason
from features.catalog import Features
from scoring.rules.ruleset import RuleHit

__all__ = ["SEVERITY_RANK", "SEVERITY_WEIGHT", "anomaly_evidence", "score"]

SEVERITY_WEIGHT: Final = {"low": 0.15, "medium": 0.35, "high": 0.65, "critical": 0.95}
SEVERITY_RANK: Final = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def anomaly_evidence(f: Features) -> list[tuple[float, Reason]]:
    """Weak signals that are not rules on their own but add up."""
    out: list[tuple[float, Reason]] = []
    z = float(f["amount_zscore"])
    if z >= 3.0:
        weight = min(0.3, 0.05 * z)
        out.append((weight, Reason("AMOUNT_ANOMALY", f"amount is {z:.1f} std above the profile")))
    if f["is_new_payee"] and float(f["amount_ratio_to_max"]) > 1.5:
        out.append((0.1, Reason("NEW_PAYEE_LARGE", "new payee and above the largest past amount")))
    if f["is_new_device"] and f["event_type"] == "payment":
        out.append((0.08, Reason("NEW_DEVICE", "payment from a device never used before")))
    if f["hour_unusual"] and f["event_type"] == "payment":
        out.append((0.05, Reason("UNUSUAL_HOUR", f"hour {f['hour']} is unusual for the account")))
    fails = int(f["failed_logins_1h"])
    if fails >= 2:
        out.append((min(0.2, 0.04 * fails), Reason("LOGIN_FAILURES", f"{fails} failed logins")))
    return out


def score(hits: list[RuleHit], f: Features) -> tuple[float, list[Reason]]:
    """Combine rule hits and anomaly evidence; reasons ordered by weight."""
    weighted: list[tuple[float, Reason]] = [
        (SEVERITY_WEIGHT.get(h.severity, 0.35), Reason(h.reason, h.detail)) for h in hits
    ]
    weighted.extend(anomaly_evidence(f))
    keep = 1.0
    for weight, _ in weighted:
        keep *= 1.0 - weight
    weighted.sort(key=lambda wr: -wr[0])
    return 1.0 - keep, [r for _, r in weighted]
